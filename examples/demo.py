"""`make demo`: the seed's examples against a throwaway local emulator.

Starts the emulator on a free loopback port with a temporary data dir, runs each example
script of this folder as its own process (they read ``DPHI_EM_URL``, ``DPHI_EM_USERNAME`` and
``DPHI_EM_PASSWORD``, so the same scripts run unchanged against a real EM), then stops the
emulator and removes the data dir. Exits non-zero when an example fails.

Where a Docker engine answers, pods really run (and the examples print what they wrote into
``/data``); the examples' base image, the onboard registry's
``fpga.dphi.space:5000/busybox:1.36``, is built from the host's static busybox when the engine
lacks it (nothing is pulled). Where none answers, pods are simulated, and the demo says so.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dphi_em_emulator import EmulatorConfig, EmulatorServer
from dphi_em_emulator._config import DEFAULT_PUBLIC_IMAGES

HERE = Path(__file__).resolve().parent
EXAMPLES = [
    ("01_simple_operations.py", "Simple operations: list, uplink, build, run, schedule, downlink"),
    ("02_pod_volumes.py", "Pod volumes: each pod name is its own private volume"),
    ("03_pod_intercommunication.py", "Inter-pod communication in a private namespace"),
    ("04_env_and_args.py", "Environment variables and arguments"),
    ("05_errors.py", "Errors: what the EM refuses, as typed exceptions"),
    ("06_telemetry.py", "Telemetry: pods ask satellite-telemetry.dphi-tm (health, latest)"),
]
USERNAME = "client1"
#: The base image of the examples, as the EM's onboard registry names it.
BASE_IMAGE = "fpga.dphi.space:5000/busybox:1.36"
BUSYBOX = Path("/bin/busybox")


def banner(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


def pod_engine() -> str:
    """`docker` when an engine answers and has (or can be given) the base image, else
    `simulated`, saying why in one line."""
    try:
        from dphi_em_emulator._docker import build_busybox_image, connect
    except ImportError as exc:
        print(f"Pods are simulated (nothing runs): the Docker SDK is missing ({exc}).")
        return "simulated"
    client, reason = connect(None)
    if client is None:
        print(f"Pods are simulated (nothing runs): no Docker engine: {reason}.")
        return "simulated"
    try:
        if not client.images.list(name=BASE_IMAGE):
            if not BUSYBOX.is_file():
                print(
                    f"Pods are simulated (nothing runs): the engine lacks {BASE_IMAGE} and "
                    f"there is no {BUSYBOX} to build it from (apt-get install busybox-static)."
                )
                return "simulated"
            print(f"Building the examples' base image {BASE_IMAGE} from {BUSYBOX} (once)...")
            build_busybox_image(client, BASE_IMAGE, BUSYBOX)
    finally:
        client.close()
    return "docker"


def main() -> int:
    password = secrets.token_urlsafe(12)
    pods = pod_engine()
    with tempfile.TemporaryDirectory(prefix="dphi-em-demo-") as data_dir:
        config = EmulatorConfig(
            data_dir=Path(data_dir),
            users={USERNAME: password},
            # A pod minute lasts a second here, so that the examples can wait for their pods.
            time_scale=60.0,
            pods=pods,
            # simulated pods: the onboard base image counts as one anyone may run
            public_images=(*DEFAULT_PUBLIC_IMAGES, BASE_IMAGE),
            # the demo's pods and images go with the throwaway data dir (the base image stays)
            on_stop="purge",
        )
        with EmulatorServer(config) as server:
            banner(f"Emulator up at {server.url} (data dir {data_dir}, user {USERNAME})")
            print(server.emulator.engine_line)
            if server.emulator.telemetry is not None:
                print(server.emulator.telemetry.describe())
            env = {
                **os.environ,
                "DPHI_EM_URL": server.url,
                "DPHI_EM_USERNAME": USERNAME,
                "DPHI_EM_PASSWORD": password,
                "PYTHONUNBUFFERED": "1",
            }
            failed = []
            for script, title in EXAMPLES:
                banner(f"{script}: {title}")
                started = time.monotonic()
                proc = subprocess.run([sys.executable, str(HERE / script)], env=env, check=False)
                took = time.monotonic() - started
                if proc.returncode != 0:
                    failed.append(script)
                    print(f"-- {script} FAILED (exit {proc.returncode}) after {took:.1f} s")
                else:
                    print(f"-- {script} done in {took:.1f} s")
        banner("Emulator stopped; data dir removed")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"all {len(EXAMPLES)} examples passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
