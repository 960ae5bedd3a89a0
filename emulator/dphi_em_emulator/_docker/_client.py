"""Connecting to the Docker engine (`DOCKER_HOST`, or the default socket)."""

from __future__ import annotations

import os

import docker
from docker.errors import DockerException

from ._common import first_line

DEFAULT_SOCKET = "unix:///var/run/docker.sock"


def where(docker_host: str | None) -> str:
    """The engine's address as the start-up line names it."""
    return docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET


def connect(docker_host: str | None) -> tuple[docker.DockerClient | None, str]:
    """A client of the engine at `docker_host` (else `DOCKER_HOST`, else the default socket),
    or None and why not."""
    try:
        probe = (
            docker.DockerClient(base_url=docker_host, timeout=5)
            if docker_host
            else docker.from_env(timeout=5)
        )
        try:
            probe.ping()
        finally:
            probe.close()
        client = (
            docker.DockerClient(base_url=docker_host, timeout=3600)
            if docker_host
            else docker.from_env(timeout=3600)
        )
    except DockerException as exc:
        return None, f"none answers at {where(docker_host)} ({first_line(str(exc))})"
    return client, ""
