"""Example 2, pod volumes: each pod name is its own persistent, private volume.

The vendor's `example_pod_volumes` through the `dphi_em` facade and its `Pod` handle.
Reads DPHI_EM_URL, DPHI_EM_USERNAME and DPHI_EM_PASSWORD.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from dphi_em import APIError, EMClient, NotFoundError, iter_files

FILES = Path(__file__).resolve().parent / "files"
#: A small image of the onboard registry (the vendor's walkthrough uses python:3.11-alpine;
#: the local emulator stands in for it with Debian's busybox-static: `images prepare`).
IMAGE = "fpga.dphi.space:5000/busybox:latest"

with EMClient() as em, tempfile.TemporaryDirectory(prefix="downlink-") as downlink_folder:
    pod_a = em.pod("pod-a")  # every call through it uses pod_name="pod-a" and its volume

    print(
        "run pod-a:",
        pod_a.run(
            IMAGE,
            max_duration=30,
            command="/bin/sh -c",
            args=["echo 'Is this the final frontier?' > /data/hello-space.txt"],
        ),
    )
    print("pod-a is", pod_a.wait(until="running", timeout=120).kind)
    state = pod_a.wait(until="terminated", timeout=300)
    print(f"pod-a {state.kind} ({state.reason})")
    try:
        written = pod_a.downlink("hello-space.txt", downlink_folder)
        print(f"pod-a wrote hello-space.txt: {written.read_text().strip()!r}")
    except NotFoundError:
        print("hello-space.txt: not on pod-a's volume (no pod wrote it)")

    result = pod_a.uplink([FILES / "hello-world.txt"])
    print(f"uplinked {result.file_count} file to pod-a's volume")

    print("pod-a's volume:", [path for path, _ in iter_files(pod_a.files_list())])
    print("default volume:", [path for path, _ in iter_files(em.files_list())])

    local = pod_a.downlink("hello-world.txt", downlink_folder)
    print(f"downlinked from pod-a: {local.read_text().strip()!r}")

    try:
        em.delete("hello-world.txt")  # the default volume has no such file
    except APIError as exc:
        print(f"delete without pod_name fails as expected: {type(exc).__name__}: {exc.message}")
    else:
        raise SystemExit("deleting from the default volume should have failed")
    print("delete with pod_name:", pod_a.delete("hello-world.txt"))
    print("pod-a's volume now:", [path for path, _ in iter_files(pod_a.files_list())])
