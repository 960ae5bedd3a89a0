"""Hundreds of MB up and down, checked by hash, while the emulator's memory stays flat.

The emulator runs as its own process (`python -m dphi_em_emulator`), so that its peak resident
memory (VmHWM in /proc/PID/status) measures the emulator alone. The upload is generated on the
fly, and the download hashed as it streams: the test process holds no big buffer either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

SIZE = 300 * 1024 * 1024
CHUNK = 1024 * 1024
BOUNDARY = "large-transfer-boundary-7d1f"
MAX_GROWTH = 100 * 1024 * 1024


def _proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def _pattern_chunk(index: int) -> bytes:
    return hashlib.sha256(index.to_bytes(8, "big")).digest() * (CHUNK // 32)


def _multipart(digest: hashlib._Hash) -> Iterator[bytes]:
    yield (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="pod_name"\r\n\r\nbig\r\n'
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="files"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for index in range(SIZE // CHUNK):
        chunk = _pattern_chunk(index)
        digest.update(chunk)
        yield chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


@pytest.mark.slow
def test_300_mb_up_and_down_with_flat_memory(emulator_process: Any) -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the emulator's memory")
    process = emulator_process()
    with httpx.Client(base_url=process.url, timeout=300) as client:
        tokens = client.post("auth/", data={"username": "client1", "password": "secret"}).json()
        client.headers["Authorization"] = f"Bearer {tokens['access']}"
        assert client.get("em/files/list").status_code == 200
        baseline = _proc_kib(process.pid, "VmRSS")

        sent = hashlib.sha256()
        response = client.post(
            "em/files/uplink",
            content=_multipart(sent),
            headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {"file_count": 1, "total_size_kb": SIZE / 1024}
        listing = client.get("em/files/list", params={"pod_name": "big"}).json()["data"]
        assert listing[0]["size"] == str(SIZE)

        received = hashlib.sha256()
        params = {"filepath": "big.bin", "pod_name": "big"}
        with client.stream("GET", "em/files/downlink", params=params) as download:
            assert download.status_code == 200
            assert download.headers["content-length"] == str(SIZE)
            for chunk in download.iter_bytes(CHUNK):
                received.update(chunk)
        assert received.hexdigest() == sent.hexdigest()

        peak = _proc_kib(process.pid, "VmHWM")
    growth = (peak - baseline) * 1024
    assert growth < MAX_GROWTH, f"emulator peak RSS grew by {growth / 2**20:.0f} MiB"
