"""Example 1, simple operations: list, uplink, build, run on FPGA and GPU, schedule, downlink.

The vendor's `example_simple_operations`, step for step, through the `dphi_em` facade.
Reads DPHI_EM_URL, DPHI_EM_USERNAME and DPHI_EM_PASSWORD: runs unchanged against a real EM.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from dphi_em import EMClient, NotFoundError, iter_files

FILES = Path(__file__).resolve().parent / "files"

with EMClient() as em, tempfile.TemporaryDirectory(prefix="downlink-") as downlink_folder:
    em.get_token()
    print("logged in to", em.base_url)

    files = [path for path, _ in iter_files(em.files_list())]
    print(f"default volume holds {len(files)} file(s): {files}")

    result = em.uplink([FILES / "Dockerfile", FILES / "echo-test.sh"], dest_path="echo-test")
    print(f"uplinked {result.file_count} files ({result.total_bytes} bytes): {list(result.paths)}")

    print("build:", em.image_build("./echo-test/Dockerfile", "echo-test", "./echo-test"))
    print("images:", em.image_list())

    print("run on FPGA:", em.run("echo-test", max_duration=1))
    state = em.wait_for_pod(until="running", timeout=120)
    print(f"pod is {state.kind} since {state.started_at}")
    state = em.wait_for_pod(until="terminated", timeout=180)  # before the next run replaces it
    print(f"pod {state.kind} ({state.reason}), exit code {state.exit_code}")

    print(
        "run on GPU with a command:",
        em.run(
            "echo-test",
            node="GPU",
            max_duration=1,
            command="/bin/sh -c",
            args=["echo 123 > /data/gpu-downlink.txt"],
        ),
    )
    em.wait_for_pod(until="terminated", timeout=180)

    at = datetime.now(timezone.utc).astimezone() + timedelta(minutes=1)
    print(f"scheduled for {at.isoformat(timespec='seconds')}:", end=" ")
    print(
        em.run(
            "echo-test",
            max_duration=1,
            scheduled_time=at,
            command="/bin/sh -c",
            args=["date > /data/time.txt"],
        )
    )
    print("status right after scheduling:", em.pod_status().kind, em.pod_status().reason or "")
    state = em.wait_for_pod(until="terminated", timeout=300)
    print(f"scheduled pod {state.kind} ({state.reason}) at {state.finished_at}")

    # what the three pods wrote into /data: the image's own command, the GPU run's shell line,
    # and the scheduled run's date
    for output in ("echo-test.txt", "gpu-downlink.txt", "time.txt"):
        try:
            local = em.downlink(output, downlink_folder)
        except NotFoundError:
            print(f"{output}: not on the volume (no pod wrote it)")
        else:
            print(f"downlinked {output}: {local.read_text().strip()!r}")
            em.delete(output)

    local = em.downlink("echo-test/echo-test.sh", downlink_folder)
    same = local.read_bytes() == (FILES / "echo-test.sh").read_bytes()
    size = local.stat().st_size
    print(f"downlinked {local.name}: {size} bytes, identical to the original: {same}")
    assert same

    print("delete:", em.delete("echo-test"))
    print("default volume now:", [path for path, _ in iter_files(em.files_list())])
