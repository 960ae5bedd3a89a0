"""Tar builders for image loads: `docker save` archives made by hand, small and exact.

- `docker_save_tar(repo_tags)`: the layout `docker save` writes (a blob, `index.json`,
  `manifest.json` naming the tags), enough for the emulator's simulated load and its checks;
  `manifest=` replaces the manifest (`"omit"` leaves it out), `gz=True` compresses.
- `image_tar_file(path, tag)`: the same, written to a file (to uplink it).
- `real_image_tar(tag, arch)`: a loadable one-file image for `arch` (a real layer and
  config), for the Docker engine.
- `tar_bytes(files)`: a plain tar of in-memory files.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "docker_save_tar",
    "image_tar_file",
    "layered_image_tar",
    "real_image_tar",
    "tar_bytes",
]


def tar_bytes(files: Mapping[str, bytes], *, mode: int = 0o644, gz: bool = False) -> bytes:
    """A tar (gzipped when `gz`) holding `files` (name -> content), each with `mode`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gz else "w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def docker_save_tar(
    repo_tags: Sequence[str] | str | None, *, manifest: object = None, gz: bool = False
) -> bytes:
    """A small tar laid out as `docker save` writes it, naming `repo_tags`."""
    tags = [repo_tags] if isinstance(repo_tags, str) else repo_tags
    entries = {"blobs/sha256/abc": b"layer bytes", "index.json": b"{}"}
    if manifest != "omit":
        document = (
            manifest
            if manifest is not None
            else [{"Config": "blobs/sha256/def", "RepoTags": tags, "Layers": ["blobs/sha256/abc"]}]
        )
        entries["manifest.json"] = json.dumps(document).encode()
    return tar_bytes(entries, gz=gz)


def image_tar_file(path: Path, tag: str) -> Path:
    """`docker_save_tar([tag])` written to `path`; returns `path`."""
    path.write_bytes(docker_save_tar([tag]))
    return path


def layered_image_tar(
    repo_tags: Sequence[str],
    files: Mapping[str, bytes],
    *,
    arch: str = "amd64",
    cmd: Sequence[str] = ("/hello",),
    extra_manifests: Sequence[Sequence[str]] = (),
) -> bytes:
    """A `docker save` tar an engine can load: one layer holding `files` (mode 0755), an image
    for `arch` running `cmd`, named `repo_tags`; each of `extra_manifests` adds one more
    `manifest.json` entry naming the same image (a tar read otherwise by the engine)."""
    layer = tar_bytes(files, mode=0o755)
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "config": {"Cmd": list(cmd)},
            "rootfs": {
                "type": "layers",
                "diff_ids": [f"sha256:{hashlib.sha256(layer).hexdigest()}"],
            },
        }
    ).encode()
    config_name = f"{hashlib.sha256(config).hexdigest()}.json"

    def manifest(tags: Sequence[str]) -> tuple[str, bytes]:
        entry = [{"Config": config_name, "RepoTags": list(tags), "Layers": ["l/layer.tar"]}]
        return "manifest.json", json.dumps(entry).encode()

    entries = [(config_name, config), ("l/layer.tar", layer), manifest(repo_tags)]
    entries += [manifest(more) for more in extra_manifests]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in entries:  # a list: `manifest.json` may stand in it twice
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def real_image_tar(tag: str, arch: str) -> bytes:
    """A `docker save` tar of a one-file image for `arch` (`/hello`), loadable by an engine."""
    return layered_image_tar([tag], {"hello": b"hello\n"}, arch=arch)
