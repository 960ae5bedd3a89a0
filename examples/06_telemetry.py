"""Example 6, the satellite's telemetry service from pods.

The vendor's pod scripts ask `http://satellite-telemetry.dphi-tm` (reachable from pods only):
the seed-era `echo-test.sh` appends `/health` (port 8000) to `/data/downlink.txt`, a later
script writes `/api/telemetry/latest` to `/data/orbital.json`. Two pods do that here; their
files are downlinked and shown. In the emulator the service is emulated (docs/telemetry.md).
Reads DPHI_EM_URL, DPHI_EM_USERNAME and DPHI_EM_PASSWORD.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from dphi_em import EMClient, NotFoundError

IMAGE = "fpga.dphi.space:5000/busybox:latest"
SERVICE = "http://satellite-telemetry.dphi-tm"
PODS = {
    "tlm-health": (
        f"wget -q -O - {SERVICE}:8000/health >> /data/downlink.txt; echo >> /data/downlink.txt",
        "downlink.txt",
    ),
    # port 8000 too: in the emulator a user's networked pods share one loopback, and a pod
    # of yours that declares port 80 (example 3's server) takes port 80 from the service
    "tlm-orbital": (
        f"wget -q -O /data/orbital.json {SERVICE}:8000/api/telemetry/latest",
        "orbital.json",
    ),
}

with EMClient() as em, tempfile.TemporaryDirectory(prefix="downlink-") as folder:
    for pod, (script, _) in PODS.items():
        print(
            "run:", em.run(IMAGE, max_duration=1, pod_name=pod, command="/bin/sh -c", args=[script])
        )
    for pod, (_, output) in PODS.items():
        state = em.wait_for_pod(pod, until="terminated", timeout=240)
        print(f"{pod}: {state.reason}, exit code {state.exit_code}")
        try:
            local = em.downlink(output, folder, pod_name=pod)
        except NotFoundError:
            print(f"{output}: not on {pod}'s volume (pods are simulated: nothing ran)")
            continue
        text = local.read_text()
        if output.endswith(".json"):
            latest = json.loads(text)["data"][0]
            position = latest["data"]["position"]
            print(
                f"{output}: {latest['data_type']} record at {latest['timestamp']}, position "
                f"({position['x']:.1f}, {position['y']:.1f}, {position['z']:.1f}) km"
            )
        else:
            print(f"{output}: {text.strip()}")
        em.delete(output, pod_name=pod)
    print(f"(the pods' files were downlinked into {Path(folder).name} and removed)")
