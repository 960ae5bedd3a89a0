"""Example 5, errors: what the EM refuses, as typed exceptions.

The vendor's `examples_errors` through the `dphi_em` facade: a missing file, a build with a
wrong context, an image that does not exist, and bad input caught before anything is sent.
Reads DPHI_EM_URL, DPHI_EM_USERNAME and DPHI_EM_PASSWORD.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from dphi_em import (
    BuildFailedError,
    EMClient,
    NotFoundError,
    PodFailedError,
    ValidationError,
)

FILES = Path(__file__).resolve().parent / "files"

with EMClient() as em, tempfile.TemporaryDirectory(prefix="downlink-") as downlink_folder:
    try:
        em.downlink("no-such-file.txt", downlink_folder)
    except NotFoundError as exc:
        print(f"downlink of a missing file -> {type(exc).__name__} ({exc.status_code}): {exc}")
    assert not any(Path(downlink_folder).iterdir()), "a failed downlink must leave nothing"

    em.uplink([FILES / "Dockerfile", FILES / "echo-test.sh"], dest_path="echo-test")
    try:
        em.image_build("echo-test/Dockerfile", "echo-test", context="wrong-context")
    except BuildFailedError as exc:
        print(f"build with a wrong context -> {type(exc).__name__} [{exc.code}]: {exc.message}")
        for line in exc.log_tail[-3:]:
            print("    |", line.rstrip())
    em.delete("echo-test")

    print("run of an image that does not exist:", em.run("echo-test12", max_duration=1))
    try:
        em.wait_for_pod(until="running", timeout=120)
    except PodFailedError as exc:
        print(f"  -> {type(exc).__name__}: {exc}")
    state = em.pod_status()
    print(f"  pod status: {state.kind} / {state.reason}")

    for bad in (
        lambda: em.run("echo-test", pod_name="Hey no whitespaces"),
        lambda: em.run("echo-test", node="TPU"),
        lambda: em.run("echo-test", scheduled_time=datetime(2030, 1, 1, 12, 0)),
        lambda: em.uplink([FILES / "missing.bin"]),
    ):
        try:
            bad()
        except ValidationError as exc:
            print(f"refused before sending -> {type(exc).__name__}: {exc}")
        else:
            raise SystemExit("bad input was not refused")
