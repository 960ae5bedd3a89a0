"""Example 4, environment variables and arguments passed to a pod.

The vendor's `example_env_and_args` through the `dphi_em` facade: a shell as the command,
its script as an argument, and environment values (sent as strings).
Reads DPHI_EM_URL, DPHI_EM_USERNAME and DPHI_EM_PASSWORD.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from dphi_em import EMClient, NotFoundError

FILES = Path(__file__).resolve().parent / "files"

with EMClient() as em, tempfile.TemporaryDirectory(prefix="downlink-") as downlink_folder:
    # The image of example 1, built again here so that this script also runs on its own.
    em.uplink([FILES / "Dockerfile", FILES / "echo-test.sh"], dest_path="echo-test")
    print("build:", em.image_build("echo-test/Dockerfile", "echo-test", "echo-test"))

    print(
        "run:",
        em.run(
            "echo-test",
            max_duration=1,
            command="/bin/sh -c",
            args=["echo testing args $DURATION $SIZE > /data/test.txt"],
            envs={"DURATION": 60, "SIZE": 1024},
        ),
    )
    state = em.wait_for_pod(until="running", timeout=120)
    print(f"pod {state.kind} since {state.started_at}")
    state = em.wait_for_pod(until="terminated", timeout=240)
    print(f"pod {state.kind}: {state.reason}, exit code {state.exit_code}")
    try:
        local = em.downlink("test.txt", downlink_folder)
        print(f"the pod wrote test.txt: {local.read_text().strip()!r}")
        em.delete("test.txt")
    except NotFoundError:
        print("test.txt: not on the volume (no pod wrote it)")
    em.delete("echo-test")
