"""The Docker engine's build inputs, read from a volume without leaving it (no engine needed).

The context tar, the Dockerfile, the onboard registry's names and the namespace's pause
program are plain files and bytes: these tests check them on disk, on any machine.
"""

from __future__ import annotations

import io
import os
import platform
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from dphi_em_emulator._dockerfile import (
    ConfinedPathError,
    base_images,
    onboard_source,
    open_confined,
    open_fd_confined,
    opened_inside,
    parse_registry_map,
    write_context,
)
from dphi_em_emulator._pause import pause_program


def test_base_images_are_the_from_lines_that_name_images() -> None:
    dockerfile = """# syntax is not parsed
ARG BASE=alpine
FROM --platform=linux/arm64 fpga.dphi.space:5000/alpine:3.20 AS build
RUN echo hi
FROM build AS again
FROM scratch
FROM ${BASE}
from \\
    busybox:1.36
FROM fpga.dphi.space:5000/alpine:3.20
"""
    # a FROM naming an ARG is the ARG's value, as the engine reads it (issue 16)
    assert base_images(dockerfile) == [
        "fpga.dphi.space:5000/alpine:3.20",
        "alpine",
        "busybox:1.36",
    ]


def test_onboard_names_map_to_local_images() -> None:
    default = parse_registry_map([])
    assert onboard_source("fpga.dphi.space:5000/alpine:3.20", default) == "alpine:3.20"
    assert onboard_source("alpine:3.20", default) is None  # not an onboard name
    custom = parse_registry_map(
        ["fpga.dphi.space:5000/alpine:3.20=my-alpine:dev", "fpga.dphi.space:5000/lab/=local/"]
    )
    assert onboard_source("fpga.dphi.space:5000/alpine:3.20", custom) == "my-alpine:dev"
    assert onboard_source("fpga.dphi.space:5000/lab/x:1", custom) == "local/x:1"  # longest
    assert onboard_source("fpga.dphi.space:5000/busybox:1", custom) == "busybox:1"
    with pytest.raises(ValueError, match="FROM=TO"):
        parse_registry_map(["no-equals-sign"])


def _volume(tmp_path: Path) -> Path:
    volume = tmp_path / "volume"
    (volume / "ctx" / "sub").mkdir(parents=True)
    (volume / "ctx" / "app.sh").write_bytes(b"#!/bin/sh\necho app\n")
    (volume / "ctx" / "sub" / "data.bin").write_bytes(bytes(range(256)) * 10)
    (volume / "ctx" / "secret.txt").write_text("left out\n")
    (volume / "ctx" / "leak").symlink_to("/etc/passwd")
    (volume / "ctx" / "outside").symlink_to("/etc")
    os.mkfifo(volume / "ctx" / "fifo")
    return volume


def test_the_context_tar_holds_the_folder_and_nothing_from_outside(tmp_path: Path) -> None:
    volume = _volume(tmp_path)
    out = io.BytesIO()
    dockerfile = b"FROM scratch\nCOPY app.sh /\n"
    name = write_context(
        volume / "ctx", volume, dockerfile, out, lambda path: path == "secret.txt", ["secret.txt"]
    )
    out.seek(0)
    with tarfile.open(fileobj=out) as archive:
        members = {member.name: member for member in archive}
        assert archive.extractfile(members["sub/data.bin"]).read() == bytes(range(256)) * 10
        assert archive.extractfile(members[name]).read() == dockerfile
        ignore = archive.extractfile(members[".dockerignore"]).read().decode()
    assert set(members) == {
        "app.sh",
        "sub",
        "sub/data.bin",
        "leak",
        "outside",
        name,
        ".dockerignore",
    }
    assert members["leak"].issym()
    assert members["leak"].linkname == "/etc/passwd"
    assert members["outside"].issym()  # a link, never followed into /etc
    assert ignore.splitlines() == ["secret.txt", name]  # the engine drops the Dockerfile
    # the volume is only read
    assert sorted(p.name for p in (volume / "ctx").iterdir()) == [
        "app.sh",
        "fifo",
        "leak",
        "outside",
        "secret.txt",
        "sub",
    ]


def test_a_context_or_file_outside_the_volume_is_refused(tmp_path: Path) -> None:
    volume = _volume(tmp_path)
    with pytest.raises(ConfinedPathError):
        write_context(Path("/etc"), volume, b"", io.BytesIO(), lambda path: False, [])
    with pytest.raises(OSError, match=r"symbolic links|Not a directory"):  # not followed
        write_context(volume / "ctx" / "outside", volume, b"", io.BytesIO(), lambda p: False, [])
    with pytest.raises(OSError, match="symbolic links"):  # O_NOFOLLOW: a link is not opened
        open_confined(volume / "ctx" / "leak", volume)
    with pytest.raises(ConfinedPathError):
        open_confined(Path("/etc/hostname"), volume)
    with pytest.raises(ConfinedPathError):
        open_confined(volume / "ctx" / "sub", volume)  # not a regular file (a folder)
    with open_confined(volume / "ctx" / "app.sh", volume) as file:
        assert file.read() == b"#!/bin/sh\necho app\n"


@pytest.mark.skipif(platform.machine() != "x86_64", reason="runs the amd64 program natively")
def test_the_pause_program_sleeps_until_killed(tmp_path: Path) -> None:
    program = tmp_path / "pause"
    program.write_bytes(pause_program("amd64") or b"")
    program.chmod(0o755)
    process = subprocess.Popen([str(program)])
    try:
        time.sleep(0.3)
        assert process.poll() is None  # still there: it sleeps, it does not spin or exit
    finally:
        process.kill()
        process.wait(timeout=10)
    assert pause_program("riscv64") is None
    assert len(pause_program("arm64") or b"") < 200


def test_a_folder_swapped_for_a_symlink_after_the_check_is_caught(tmp_path: Path) -> None:
    volume, outside = tmp_path / "volume", tmp_path / "outside"
    (volume / "d").mkdir(parents=True)
    outside.mkdir()
    (volume / "d" / "f").write_text("inside\n")
    (outside / "f").write_text("host secret\n")
    path = volume / "d" / "f"  # checked by the request handler: inside
    (volume / "d").rename(volume / "d-old")  # then a pod swaps the folder for a link out
    (volume / "d").symlink_to(outside)
    with pytest.raises(ConfinedPathError, match="outside the volume"):
        open_fd_confined(path, volume, follow=True)
    (volume / "d").unlink()
    (volume / "d-old").rename(volume / "d")
    fd = open_fd_confined(path, volume, follow=True)
    try:
        assert os.read(fd, 100) == b"inside\n"
        assert opened_inside(fd, path, volume)
        (volume / "d").rename(volume / "d-old")  # swapped after the open: no longer the file
        (volume / "d").symlink_to(outside)
        assert not opened_inside(fd, path, volume)
    finally:
        os.close(fd)


def test_build_references_read_the_dockerfile_as_the_engine_does() -> None:
    from dphi_em_emulator._dockerfile import DockerfileRefused, build_references

    text = (
        "# escape=`\n"
        "ARG BASE=other\n"
        "FROM ${BASE:-x}-img AS one\n"
        "FROM `\n"
        "# a comment inside a continuation is skipped, as the engine skips it\n"
        "\n"
        "  second AS two\n"
        "COPY --from=one /a /a\n"
        "COPY --from=0 /b /b\n"
        "COPY --from=third:1.0 /c /c\n"
        "ENV SRC=https://example.invalid/x\n"
        "ADD --chown=1:1 $SRC /x\n"
        'ADD ["git@example.invalid:r.git", "/r"]\n'
        "ONBUILD COPY --from=fourth / /\n"
    )
    found = build_references(text)
    assert found.images == ["other-img", "second", "third:1.0", "fourth"]
    assert found.remote == ["https://example.invalid/x", "git@example.invalid:r.git"]
    with pytest.raises(DockerfileRefused, match="--from"):
        build_references("FROM scratch\nARG X=y\nCOPY --from=$X / /\n")
    with pytest.raises(DockerfileRefused):
        build_references("FROM a\\-b\n")
