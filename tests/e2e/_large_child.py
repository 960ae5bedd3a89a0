"""Child process of test_client_large: one client kind uplinks then downlinks a big file.

Prints one JSON line: the process's resident memory after a warm-up call (baseline) and its
peak (VmHWM) after the transfers, in KiB, so that the parent measures the client alone.

Usage: python _large_child.py sync|async URL USER PASSWORD SOURCE OUT_FOLDER
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from dphi_em import AsyncEMClient, EMClient


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(field)


def main() -> None:
    kind, url, user, password, source, out = sys.argv[1:7]
    result: dict[str, int | str] = {}
    if kind == "sync":
        with EMClient(url, user, password) as em:
            em.files_list("large")
            result["baseline"] = _kib("VmRSS")
            em.uplink([source], pod_name="large")
            result["path"] = str(em.downlink(Path(source).name, out, "large"))
    else:

        async def run() -> None:
            async with AsyncEMClient(url, user, password) as em:
                await em.files_list("large")
                result["baseline"] = _kib("VmRSS")
                await em.uplink([source], pod_name="large")
                result["path"] = str(await em.downlink(Path(source).name, out, "large"))

        asyncio.run(run())
    result["peak"] = _kib("VmHWM")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
