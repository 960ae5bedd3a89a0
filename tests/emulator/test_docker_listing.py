"""`files/list` of a volume a pod filled with folders deeper than a path may name.

The listing goes `MAX_DEPTH` (128) folders deep, as deep as a path may name; a folder whose
contents would be deeper is listed with `"contents": []` and `"truncated": true`. However
deep and long the folders are, the listing answers 200 (it used to recurse without a bound
and build paths longer than the file system takes: a 500), and `files/delete` removes them
(`remove_tree`: no recursion, where `shutil.rmtree` recurses once per level).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from dphi_em_emulator._storage import MAX_DEPTH, remove_tree

ONBOARD = "fpga.dphi.space:5000/busybox:1.36"
LONG = "f" * 40  # 200 of them: a path of 8,200 bytes, twice Linux's PATH_MAX


def _chain(nodes: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The folders named `name` nested from the top of `nodes` down, outermost first."""
    chain = []
    while True:
        folder = next((n for n in nodes if n["name"] == name and n["type"] == "directory"), None)
        if folder is None:
            return chain
        chain.append(folder)
        nodes = folder["contents"]


def _check_truncated_listing(nodes: list[dict[str, Any]]) -> None:
    assert [n["name"] for n in nodes] == [LONG, "top.txt"]
    chain = _chain(nodes, LONG)
    assert len(chain) == MAX_DEPTH  # every folder a path can name, and no deeper
    assert [bool(n.get("truncated")) for n in chain] == [False] * (MAX_DEPTH - 1) + [True]
    assert chain[-1]["contents"] == []
    assert chain[-2]["contents"] == [chain[-1]]
    assert chain[0]["size"] == "0"  # the unlisted file deep down is not counted


@pytest.mark.docker
def test_a_pod_making_very_deep_folders_leaves_a_listable_volume(
    docker_http, docker_pod: str
) -> None:
    em = docker_http()
    script = (
        "echo top > /data/top.txt; cd /data; "
        f"for i in $(seq 1 200); do mkdir {LONG} && cd -P {LONG} || exit 1; done; "
        "echo bottom > deep.txt"
    )
    em.run(ONBOARD, docker_pod, max_duration=30, command="/bin/sh -c", args=[script])
    assert em.wait(docker_pod)["exitCode"] == 0
    listing = em.get("em/files/list", params={"pod_name": docker_pod})
    assert listing.status_code == 200, listing.text[:300]
    _check_truncated_listing(listing.json()["data"])
    assert em.fetch("top.txt", docker_pod).content == b"top\n"
    deleted = em.post("em/files/delete", data={"filepath": LONG, "pod_name": docker_pod})
    assert deleted.status_code == 200, deleted.text
    after = em.get("em/files/list", params={"pod_name": docker_pod}).json()["data"]
    assert [n["name"] for n in after] == ["top.txt"]


def test_folders_deeper_than_the_recursion_limit_are_listed_truncated(
    make_emulator, em_http
) -> None:
    server = make_emulator()
    em = em_http(server)
    assert em.post("em/files/uplink", files=[("files", ("top.txt", b"top\n"))]).status_code == 200
    volume = Path(server.config.data_dir) / "volumes" / server.username / "_default"
    fd = os.open(volume, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(1200):  # deeper than Python's recursion limit, paths past PATH_MAX
            os.mkdir(LONG, dir_fd=fd)
            child = os.open(LONG, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
    finally:
        os.close(fd)
    try:
        listing = em.get("em/files/list")
        assert listing.status_code == 200, listing.text[:300]
        _check_truncated_listing(listing.json()["data"])
        # and it can be deleted by name (shutil.rmtree would recurse 1,200 levels: a 500)
        deleted = em.post("em/files/delete", data={"filepath": LONG})
        assert deleted.status_code == 200, deleted.text
        assert [n["name"] for n in em.get("em/files/list").json()["data"]] == ["top.txt"]
    finally:
        if (volume / LONG).exists():
            remove_chain(volume, LONG)


def test_remove_tree_removes_branches_and_never_follows_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_bytes(b"keep")
    top = tmp_path / "top"
    for folder in ("a/b/c", "a/x", "d", "e/f/g/h"):
        (top / folder).mkdir(parents=True)
        (top / folder / "file").write_bytes(b"x")
    (top / "a" / "b" / ".dphi-em-removing-1").write_bytes(b"a name the removal also uses")
    (top / "e" / "f" / "link").symlink_to(outside)
    os.mkfifo(top / "a" / "fifo")
    remove_tree(top)
    assert not top.exists()
    assert (outside / "keep.txt").read_bytes() == b"keep"


def remove_chain(folder: Path, name: str) -> None:
    """Remove a chain of folders `name/name/...` with one file descriptor and no recursion
    (shutil.rmtree recurses once per level): move the second level up, remove the first."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        while True:
            top = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            try:
                with os.scandir(top) as scan:
                    files = [e.name for e in scan if e.is_file(follow_symlinks=False)]
            finally:
                os.close(top)
            for file in files:
                os.unlink(f"{name}/{file}", dir_fd=fd)
            try:
                os.rename(f"{name}/{name}", ".next", src_dir_fd=fd, dst_dir_fd=fd)
            except FileNotFoundError:
                os.rmdir(name, dir_fd=fd)
                return
            os.rmdir(name, dir_fd=fd)
            os.rename(".next", name, src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(fd)
