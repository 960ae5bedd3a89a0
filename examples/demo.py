"""`make demo`: the seed's examples against a throwaway local emulator.

Starts the emulator on a free loopback port with a temporary data dir, runs each example
script of this folder as its own process (they read ``DPHI_EM_URL``, ``DPHI_EM_USERNAME`` and
``DPHI_EM_PASSWORD``, so the same scripts run unchanged against a real EM), then stops the
emulator and removes the data dir. Exits non-zero when an example fails.

Where a Docker engine answers, pods really run (and the examples print what they wrote into
``/data``). Their base images are the onboard registry's ``busybox:latest`` and the
walkthrough's ``python:3.11-alpine``; nothing is pulled: the demo first runs the emulator's
public ``python -m dphi_em_emulator images prepare``, which makes offline stand-ins for them
once per engine (Debian's busybox-static, and Debian bookworm's python3 made with mmdebstrap;
arm64 where the machine runs it, as on CG2: the first time takes a few minutes). Where no
engine answers, pods are simulated, and the demo says so.
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
#: The examples' base images, as the onboard registry names them.
BASE_IMAGES = ("busybox:latest", "python:3.11-alpine")


def banner(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


def prepare_base_images() -> None:
    """Make the stand-ins of the examples' base images (once per engine), saying how."""
    banner(f"Base images: {', '.join(BASE_IMAGES)} (stand-ins made once per engine)")
    command = [sys.executable, "-m", "dphi_em_emulator", "images", "prepare", *BASE_IMAGES]
    print("$ python -m dphi_em_emulator images prepare", " ".join(BASE_IMAGES), flush=True)
    if subprocess.run(command, check=False).returncode != 0:
        print("-- a base image could not be prepared: pods that need it wait in ErrImagePull")


def main() -> int:
    password = secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory(prefix="dphi-em-demo-") as data_dir:
        config = EmulatorConfig(
            data_dir=Path(data_dir),
            users={USERNAME: password},
            # A pod minute lasts a second here, so that the examples can wait for their pods
            # (DPHI_EM_DEMO_TIME_SCALE: another factor; the no-engine test's simulated pods,
            # where nothing runs, live ten times faster still).
            time_scale=float(os.environ.get("DPHI_EM_DEMO_TIME_SCALE", "60")),
            # a Docker engine when one answers, else simulated pods (the engine line says so)
            pods="auto",
            # the demo's pods and images go with the throwaway data dir (the stand-ins stay)
            on_stop="purge",
        )
        with EmulatorServer(config) as server:
            banner(f"Emulator up at {server.url} (data dir {data_dir}, user {USERNAME})")
            print(server.emulator.engine_line)
            if server.emulator.engine.name == "docker":
                prepare_base_images()
            else:
                print("Pods are simulated (nothing runs): the examples' pods write nothing.")
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
