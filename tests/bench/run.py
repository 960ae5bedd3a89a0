"""`make bench`: speed and memory of the facade against baselines measured in the same run.

Starts the emulator in its own process on 127.0.0.1 (lock off: `--no-lock`, so no baseline
ever meets a 423 it would not retry) and a raw-socket sink/source (`sink.py`), generates
random payloads in a temporary folder, then runs every client in its own child process,
interleaved run by run (A B C A B C ...) so that a disturbance on a shared machine hits all
clients alike. Every figure is a median over the runs, compared with a baseline of the same
run. Prints one table and writes it, with every sample, as JSON (`bench-results.json`).

Run: `make bench`, or `.venv/bin/python tests/bench/run.py --help` for smaller settings.
Everything it creates (1 GiB files included) is removed at the end, also on failure or
Ctrl-C. See `tests/bench/README.md` for what each figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PY = sys.executable
USER = "client1"
PASSWORD = "bench-" + secrets.token_hex(8)
KIB = 1024
MIB = 1024 * 1024
#: The pod whose small volume every client lists in the per-call figure.
LIST_POD = "bench-list"
#: Files per uplink call for the baselines (what the facade does: Django's 100-file limit).
BATCH = 100
#: Seconds any one child may take before it is killed (and the bench fails).
CHILD_TIMEOUT = 300.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A client failed or the servers misbehaved: no figure can be trusted."""


# -- processes ------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """The environment of every child: no proxies (all traffic is loopback), no DPHI_EM_*."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and not k.startswith("DPHI_EM_")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@dataclass
class Proc:
    """A finished child: its stdout, its own peak RSS (`wait4`), its wall time."""

    stdout: str
    maxrss_kib: int
    wall: float
    cpu: float


def run_process(cmd: Sequence[str], scratch: Path, timeout: float = CHILD_TIMEOUT) -> Proc:
    """Run `cmd` to completion; its `ru_maxrss` comes from `os.wait4` on exactly that pid.

    Raises:
        BenchError: It exited non-zero or ran out of time.
    """
    out_path, err_path = scratch / "child.out", scratch / "child.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=ENV)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(errors="replace")
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-2000:]
        raise BenchError(f"{' '.join(cmd)[:200]} exited {proc.returncode}:\n{tail}")
    return Proc(stdout, usage.ru_maxrss, wall, usage.ru_utime + usage.ru_stime)


class Server:
    """A server child (emulator or sink) whose first output lines say where it listens."""

    def __init__(self, name: str, cmd: Sequence[str], log: Path, pattern: str) -> None:
        self.name = name
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=ENV
            )
        deadline = time.monotonic() + 30
        while True:
            match = re.search(pattern, log.read_text(errors="replace"))
            if match:
                self.address = match.group(1)
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"{name} did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)

    def cpu(self) -> float:
        """CPU seconds (user + system, all threads) the server has used so far."""
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def check(self) -> None:
        """Fail if the server died."""
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name} exited:\n{self.log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        """Terminate it (kill after 10 s)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


ENV = child_env()


# -- the emulator over HTTP (setup and clean-up only, never measured) -----------------------


class EM:
    """Plain urllib calls to the emulator for setting up and checking between runs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.token = self._login()

    def _open(self, request: urllib.request.Request) -> Any:
        with self._opener.open(request, timeout=60) as response:
            return json.loads(response.read())

    def _login(self) -> str:
        body = urllib.parse.urlencode({"username": USER, "password": PASSWORD}).encode()
        request = urllib.request.Request(self.url + "auth/", data=body, method="POST")
        token: str = self._open(request)["access"]
        return token

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def delete(self, filepath: str) -> None:
        """Delete a file or folder of the default volume."""
        body = json.dumps({"filepath": filepath}).encode()
        headers = {**self._auth(), "Content-Type": "application/json"}
        request = urllib.request.Request(
            self.url + "em/files/delete", data=body, headers=headers, method="POST"
        )
        self._open(request)

    def files(self, pod_name: str | None = None) -> dict[str, int]:
        """Every file of a volume: path -> size."""
        query = "?" + urllib.parse.urlencode({"pod_name": pod_name}) if pod_name else ""
        request = urllib.request.Request(self.url + "em/files/list" + query, headers=self._auth())
        found: dict[str, int] = {}

        def walk(nodes: list[dict[str, Any]], prefix: str) -> None:
            for node in nodes:
                path = prefix + node["name"]
                if node["type"] == "directory":
                    walk(node.get("contents") or [], path + "/")
                else:
                    found[path] = int(node["size"])

        walk(self._open(request)["data"], "")
        return found

    def put_small(self, files: dict[str, bytes], dest: str, pod_name: str) -> None:
        """Uplink a few small files (body built in memory: setup only)."""
        boundary = secrets.token_hex(16)
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
            for name, value in (("dest_path", dest), ("pod_name", pod_name))
        ]
        for name, data in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                + data
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        headers = {**self._auth(), "Content-Type": f"multipart/form-data; boundary={boundary}"}
        request = urllib.request.Request(
            self.url + "em/files/uplink", data=b"".join(parts), headers=headers, method="POST"
        )
        self._open(request)


# -- payloads -------------------------------------------------------------------------------


@dataclass
class Payloads:
    """The random files every client sends: one big file and many small ones."""

    big: Path
    big_bytes: int
    small: list[Path]
    small_bytes: int


def make_payloads(folder: Path, big_mib: int, small_count: int, small_kib: int) -> Payloads:
    """Write random bytes (generated once per run, never committed)."""
    folder.mkdir()
    big = folder / "big.bin"
    with open(big, "wb") as out:
        for _ in range(big_mib // 16):
            out.write(os.urandom(16 * MIB))
        out.write(os.urandom((big_mib % 16) * MIB))
    small_dir = folder / "small"
    small_dir.mkdir()
    small = []
    for i in range(small_count):
        path = small_dir / f"f{i:04d}.bin"
        path.write_bytes(os.urandom(small_kib * KIB))
        small.append(path)
    return Payloads(big, big_mib * MIB, small, small_count * small_kib * KIB)


def seed_listing(em: EM) -> None:
    """A small volume of 20 files in three folders, listed by the per-call figure."""
    em.put_small({f"result-{i:02d}.txt": os.urandom(200 + 37 * i) for i in range(10)}, "", LIST_POD)
    em.put_small({f"frame-{i}.bin": os.urandom(4000 + i) for i in range(6)}, "runs/a", LIST_POD)
    em.put_small({f"log-{i}.txt": os.urandom(100 + i) for i in range(4)}, "runs/a/logs", LIST_POD)


# -- measurements ---------------------------------------------------------------------------


@dataclass
class Bench:
    """The state of one bench run: servers, files, samples, figures."""

    tmp: Path
    emulator_url: str
    sink_url: str
    em: EM
    payloads: Payloads
    args: argparse.Namespace
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    curl_idle_kib: int = 0
    servers: list[Server] = field(default_factory=list)

    # ---- children

    def client(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Run one Python client child; its report plus `maxrss_kib` and `wall`."""
        return self._report(self._run([PY, str(HERE / "clients.py"), name, json.dumps(args)]))

    def raw(self, command: str, args: dict[str, Any]) -> dict[str, Any]:
        """Run one raw-socket client child (`sink.py up|down`)."""
        return self._report(self._run([PY, str(HERE / "sink.py"), command, json.dumps(args)]))

    def _run(self, cmd: list[str]) -> tuple[Proc, dict[str, float]]:
        """Run a measured child; also the CPU seconds each server spent meanwhile."""
        before = {server.name: server.cpu() for server in self.servers}
        proc = run_process(cmd, self.tmp)
        spent = {f"{s.name}_cpu_s": s.cpu() - before[s.name] for s in self.servers}
        return proc, spent

    @staticmethod
    def _report(ran: tuple[Proc, dict[str, float]]) -> dict[str, Any]:
        proc, servers = ran
        lines = proc.stdout.strip().splitlines()
        if not lines:
            raise BenchError("a child printed no report")
        report: dict[str, Any] = json.loads(lines[-1])
        report["maxrss_kib"] = proc.maxrss_kib
        report["wall"] = proc.wall
        report["rss_growth_kib"] = report["hwm_kib"] - report["rss_before_kib"]
        report.update(servers)
        return report

    def curl(self, segments: list[list[str]]) -> dict[str, Any]:
        """Run one curl with one transfer per segment (`--next` between, same connection).

        The time is the sum of curl's own `time_total` per transfer (like the Python
        children, process start-up is not counted); each transfer must answer 200.
        """
        cmd = ["curl"]
        for i, segment in enumerate(segments):
            if i:
                cmd.append("--next")
            cmd += ["-sS", "-w", r"%{http_code} %{time_total} %{size_download}\n", *segment]
        proc, servers = self._run(cmd)
        rows = [line.split() for line in proc.stdout.strip().splitlines()]
        if len(rows) != len(segments) or any(row[0] != "200" for row in rows):
            raise BenchError(f"curl answered {proc.stdout.strip()[:300]!r}")
        return {
            "seconds": sum(float(row[1]) for row in rows),
            "downloaded": sum(int(row[2]) for row in rows),
            "maxrss_kib": proc.maxrss_kib,
            "rss_growth_kib": proc.maxrss_kib - self.curl_idle_kib,
            "wall": proc.wall,
            "cpu_s": proc.cpu,
            **servers,
        }

    def record(self, key: str, sample: dict[str, Any]) -> None:
        """Keep a sample and show a progress line on stderr."""
        self.samples.setdefault(key, []).append(sample)
        print(f"  {key:<28} {sample['seconds']:8.3f} s", file=sys.stderr, flush=True)

    # ---- common arguments

    def facade_args(self, url: str | None = None) -> dict[str, Any]:
        return {"url": url or self.emulator_url, "username": USER, "password": PASSWORD}

    def token_args(self) -> dict[str, Any]:
        return {"url": self.emulator_url, "token": self.em.token}

    def curl_auth(self, token: str | None = None) -> list[str]:
        return ["-H", f"Authorization: Bearer {token or self.em.token}"]

    # ---- 1. uplink

    def uplink_once(self, who: str, paths: list[Path], dest: str, url: str) -> dict[str, Any]:
        """One uplink of `paths` under `dest` by `who`, to `url` (emulator or sink)."""
        total = sum(p.stat().st_size for p in paths)
        batches = [[str(p) for p in paths[i : i + BATCH]] for i in range(0, len(paths), BATCH)]
        sink = url != self.emulator_url
        if who == "facade":
            args = {**self.facade_args(url), "paths": [str(p) for p in paths], "dest": dest}
            return self.client("facade_uplink", {**args, "bytes": total, "check_count": not sink})
        if who == "raw":
            return self.raw("up", {**self.token_args(), "batches": batches, "dest": dest})
        if who == "requests":
            args = {**self.token_args(), "paths": batches, "dest": dest, "bytes": total}
            return self.client("requests_uplink", args)
        token = "sink" if sink else None
        segments = [
            [
                "-o",
                "/dev/null",
                *self.curl_auth(token),
                "-F",
                f"dest_path={dest}",
                *[arg for p in batch for arg in ("-F", f"files=@{p}")],
                url + "em/files/uplink",
            ]
            for batch in batches
        ]
        return self.curl(segments)

    def check_uplinked(self, dest: str, paths: list[Path]) -> None:
        """The emulator holds every file under `dest` at its size; then delete `dest`."""
        found = self.em.files()
        for path in paths:
            size = found.get(f"{dest}/{path.name}")
            if size != path.stat().st_size:
                raise BenchError(f"{dest}/{path.name} is on the emulator with size {size}")
        self.em.delete(dest)

    def uplinks(self, label: str, paths: list[Path], runs: int) -> None:
        """`runs` interleaved uplinks by facade, curl and requests to the emulator."""
        for _ in range(runs):
            for who in ("facade", "curl", "requests"):
                sample = self.uplink_once(who, paths, "up", self.emulator_url)
                self.check_uplinked("up", paths)
                sample["mib"] = sum(p.stat().st_size for p in paths) / MIB
                self.record(f"{label}.{who}", sample)

    # ---- 2. downlink

    def downlink_once(self, who: str, url: str) -> dict[str, Any]:
        """One downlink of the big file by `who` into a fresh folder (removed afterwards)."""
        out_dir = self.tmp / f"down-{secrets.token_hex(4)}"
        out_dir.mkdir()
        size = self.payloads.big_bytes
        try:
            if who == "facade":
                args = {**self.facade_args(url), "filepath": "src/big.bin"}
                return self.client(
                    "facade_downlink", {**args, "out_dir": str(out_dir), "bytes": size}
                )
            if who == "requests":
                args = {**self.token_args(), "filepath": "src/big.bin", "out_dir": str(out_dir)}
                return self.client("requests_downlink", {**args, "bytes": size})
            token = "sink" if url != self.emulator_url else None
            query = urllib.parse.urlencode({"filepath": "src/big.bin"})
            target = str(out_dir / "big.bin")
            sample = self.curl(
                [["-o", target, *self.curl_auth(token), f"{url}em/files/downlink?{query}"]]
            )
            if os.stat(target).st_size != size:
                raise BenchError(f"curl wrote {os.stat(target).st_size} bytes")
            return sample
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)

    def downlinks(self, runs: int) -> None:
        """`runs` interleaved downlinks of the big file by facade, curl and requests."""
        for _ in range(runs):
            for who in ("facade", "curl", "requests"):
                sample = self.downlink_once(who, self.emulator_url)
                sample["mib"] = self.payloads.big_bytes / MIB
                self.record(f"downlink_big.{who}", sample)

    # ---- 3. per-call overhead

    def listings(self, runs: int, calls: int) -> None:
        """`runs` interleaved children, each making `calls` sequential `files_list` calls.

        A raw keep-alive socket making the same calls gives the emulator's floor.
        """
        for _ in range(runs):
            args = {**self.token_args(), "pod_name": LIST_POD, "calls": calls}
            self.record("files_list.raw", self.raw("list", args))
            for who, name in (
                ("facade", "facade_list"),
                ("httpx", "httpx_list"),
                ("requests", "requests_list"),
            ):
                base = self.facade_args() if who == "facade" else self.token_args()
                sample = self.client(name, {**base, "pod_name": LIST_POD, "calls": calls})
                self.record(f"files_list.{who}", sample)

    # ---- 4. capacity of each side

    def capacity(self, runs: int, runs_small: int) -> None:
        """The emulator against raw-socket clients; facade and curl against the raw sink.

        The last raw uplink of the big file stays on the emulator as `src/big.bin`, the
        file every downlink figure reads.
        """
        big, small = [self.payloads.big], self.payloads.small
        for run in range(runs):
            if run:
                self.em.delete("src")  # replacing a 1 GiB file costs the emulator its unlink
            sample = self.uplink_once("raw", big, "src", self.emulator_url)
            self.record("emulator_uplink_big.raw", {**sample, "mib": self.mib})
            args = {**self.token_args(), "filepath": "src/big.bin"}
            self.record("emulator_downlink_big.raw", {**self.raw("down", args), "mib": self.mib})
            for who in ("facade", "curl"):
                sample = self.uplink_once(who, big, "up", self.sink_url)
                self.record(f"sink_uplink_big.{who}", {**sample, "mib": self.mib})
                sample = self.downlink_once(who, self.sink_url)
                self.record(f"source_downlink_big.{who}", {**sample, "mib": self.mib})
        if self.em.files().get("src/big.bin") != self.payloads.big_bytes:
            raise BenchError("the emulator does not hold src/big.bin")
        small_mib = self.payloads.small_bytes / MIB
        for _ in range(runs_small):
            sample = self.uplink_once("raw", small, "up", self.emulator_url)
            self.check_uplinked("up", small)
            self.record("emulator_uplink_small.raw", {**sample, "mib": small_mib})
            for who in ("facade", "curl"):
                sample = self.uplink_once(who, small, "up", self.sink_url)
                self.record(f"sink_uplink_small.{who}", {**sample, "mib": small_mib})

    @property
    def mib(self) -> float:
        return self.payloads.big_bytes / MIB

    # ---- 5. start-up

    def startup(self, runs: int) -> None:
        """Wall time of three commands, interleaved."""
        script = Path(PY).parent / "dphi-em"
        help_cmd = [str(script), "--help"] if script.exists() else [PY, "-m", "dphi_em", "--help"]
        commands = {
            "python_pass": [PY, "-c", "pass"],
            "import_dphi_em": [PY, "-c", "import dphi_em"],
            "dphi_em_help": help_cmd,
        }
        for _ in range(runs):
            for key, cmd in commands.items():
                proc = run_process(cmd, self.tmp)
                self.samples.setdefault(f"startup.{key}", []).append(
                    {"seconds": proc.wall, "maxrss_kib": proc.maxrss_kib}
                )

    # ---- profiles

    def profile(self, what: str) -> str:
        """The cProfile summary of one facade child for the figure `what`."""
        big = [self.payloads.big]
        if what == "uplink_big":
            args = {
                **self.facade_args(),
                "paths": [str(big[0])],
                "dest": "up",
                "bytes": self.payloads.big_bytes,
            }
            report = self.client("facade_uplink", {**args, "profile": True})
            self.check_uplinked("up", big)
        elif what == "uplink_small":
            paths = self.payloads.small
            args = {**self.facade_args(), "paths": [str(p) for p in paths], "dest": "up"}
            report = self.client(
                "facade_uplink", {**args, "bytes": self.payloads.small_bytes, "profile": True}
            )
            self.check_uplinked("up", paths)
        elif what == "downlink_big":
            out_dir = self.tmp / "down-profile"
            out_dir.mkdir()
            try:
                args = {**self.facade_args(), "filepath": "src/big.bin", "out_dir": str(out_dir)}
                report = self.client(
                    "facade_downlink", {**args, "bytes": self.payloads.big_bytes, "profile": True}
                )
            finally:
                shutil.rmtree(out_dir, ignore_errors=True)
        elif what == "files_list":
            args = {**self.facade_args(), "pod_name": LIST_POD, "calls": self.args.list_calls}
            report = self.client("facade_list", {**args, "profile": True})
        elif what == "startup":
            report = self.client("facade_help", {"profile": True})
        else:
            raise ValueError(what)
        profile: str = report["profile"]
        return profile


# -- figures --------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table."""

    number: str
    measurement: str
    ours: str
    baselines: str
    ratio: str
    target: str
    result: str
    #: Which facade child to profile when the result is a MISS.
    profile: str | None = None
    values: dict[str, float] = field(default_factory=dict)


def median(samples: list[dict[str, Any]], key: str = "seconds") -> float:
    return float(statistics.median(s[key] for s in samples))


def throughput(samples: list[dict[str, Any]]) -> float:
    """Median MiB/s over the runs."""
    return float(statistics.median(s["mib"] / s["seconds"] for s in samples))


def peak_growth(samples: list[dict[str, Any]]) -> float:
    """The largest peak-RSS growth over the runs, MiB."""
    return max(s["rss_growth_kib"] for s in samples) / KIB


def _relative(ours: float, theirs: float, name: str) -> str:
    """`1/40 of requests` when far smaller, else `0.80x requests`."""
    if ours > 0 and theirs >= 2 * ours:
        return f"1/{theirs / ours:.0f} of {name}"
    return f"{ours / theirs:.2f}x {name}" if theirs > 0 else "-"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def paired(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> list[float]:
    """Per-round time ratios ours/theirs (runs are interleaved: round i of each is side by
    side in time, so a disturbance hits both)."""
    return [o["seconds"] / t["seconds"] for o, t in zip(ours, theirs, strict=True)]


def round_verdict(values: list[float], ok: Callable[[float], bool]) -> tuple[float, str]:
    """The median of per-round values and its verdict; `MISS (1/3 rounds pass)` when the
    rounds disagree (a sign of a disturbed run)."""
    middle = float(statistics.median(values))
    result = verdict(ok(middle))
    passed = sum(1 for value in values if ok(value))
    if 0 < passed < len(values):
        result += f" ({passed}/{len(values)} rounds pass)"
    return middle, result


def transfer_rows(
    number: str, label: str, key: str, s: dict[str, list[dict[str, Any]]], *, rss_target: bool
) -> list[Row]:
    """Throughput (>= 0.9x curl) and peak RSS growth rows of one transfer figure."""
    facade, curl, requests = (throughput(s[f"{key}.{w}"]) for w in ("facade", "curl", "requests"))
    # Throughput ratio facade/curl of each round = curl's time / the facade's time.
    ratios = [1 / r for r in paired(s[f"{key}.facade"], s[f"{key}.curl"])]
    ratio, result = round_verdict(ratios, lambda r: r >= 0.9)
    rss = {w: peak_growth(s[f"{key}.{w}"]) for w in ("facade", "curl", "requests")}
    rows = [
        Row(
            number,
            f"{label}: throughput",
            f"{facade:.0f} MiB/s",
            f"curl {curl:.0f} · requests {requests:.0f} MiB/s",
            f"{ratio:.2f}x curl",
            ">= 0.90x curl",
            result,
            profile=key,
            values={"facade": facade, "curl": curl, "requests": requests, "ratio": ratio},
        )
    ]
    rows.append(
        Row(
            number,
            f"{label}: peak RSS growth",
            f"{rss['facade']:.1f} MiB",
            f"requests {rss['requests']:.1f} · curl {rss['curl']:.1f} MiB",
            _relative(rss["facade"], rss["requests"], "requests"),
            "<= 64 MiB" if rss_target else "info",
            verdict(rss["facade"] <= 64) if rss_target else "info",
            profile=key,
            values={f"{w}_mib": v for w, v in rss.items()},
        )
    )
    return rows


def capacity_rows(
    s: dict[str, list[dict[str, Any]]], labels: dict[str, str]
) -> tuple[list[Row], dict[str, str]]:
    """Each side's own ceiling, and which side bounds each transfer figure."""
    rows: list[Row] = []
    bounds: dict[str, str] = {}
    for figure, ceiling_key, peer in (
        ("uplink_big", "sink_uplink_big", "sink"),
        ("uplink_small", "sink_uplink_small", "sink"),
        ("downlink_big", "source_downlink_big", "source"),
    ):
        facade = throughput(s[f"{ceiling_key}.facade"])
        curl = throughput(s[f"{ceiling_key}.curl"])
        emulator = throughput(s[f"emulator_{figure}.raw"])
        measured = throughput(s[f"{figure}.facade"])
        side = "emulator" if emulator < facade else "client"
        busy = {
            who: statistics.median(x[key] / x["seconds"] for x in s[f"{figure}.facade"])
            for who, key in (("facade", "cpu_s"), ("emulator", "emulator_cpu_s"))
        }
        bounds[figure] = (
            f"{side}: the emulator alone (raw-socket client) {emulator:.0f} MiB/s; the facade "
            f"alone (raw-socket {peer}) {facade:.0f} MiB/s, curl {curl:.0f}; the facade "
            f"against the emulator {measured:.0f} MiB/s, with the facade busy "
            f"{busy['facade']:.0%} and the emulator {busy['emulator']:.0%} of the time "
            "(CPU seconds / wall seconds; 100% = one core)"
        )
        rows.append(
            Row(
                "4",
                f"{labels[figure]}: client alone (raw {peer})",
                f"{facade:.0f} MiB/s",
                f"curl {curl:.0f} MiB/s",
                f"{facade / curl:.2f}x curl",
                "info",
                "info",
                values={"facade": facade, "curl": curl},
            )
        )
        rows.append(
            Row(
                "4",
                f"{labels[figure]}: emulator alone (raw client)",
                f"{emulator:.0f} MiB/s",
                f"facade alone {facade:.0f} MiB/s",
                f"{emulator / facade:.2f}x facade",
                "bound of 1/2",
                f"bound: {side}",
                values={"emulator": emulator, "facade_alone": facade, "figure": measured},
            )
        )
    return rows, bounds


def figures(bench: Bench) -> tuple[list[Row], dict[str, str]]:
    """The table's rows from the samples, and the bound of each transfer figure."""
    s = bench.samples
    a = bench.args
    labels = {
        "uplink_big": f"uplink 1 x {a.big_mib} MiB",
        "uplink_small": f"uplink {a.small_count} x {a.small_kib} KiB",
        "downlink_big": f"downlink 1 x {a.big_mib} MiB",
    }
    rows = transfer_rows("1", labels["uplink_big"], "uplink_big", s, rss_target=True)
    rows += transfer_rows("1", labels["uplink_small"], "uplink_small", s, rss_target=False)
    rows += transfer_rows("2", labels["downlink_big"], "downlink_big", s, rss_target=True)
    ms = {
        w: median(s[f"files_list.{w}"]) / a.list_calls * 1000
        for w in ("facade", "httpx", "requests", "raw")
    }
    values = {f"{w}_ms_per_call": v for w, v in ms.items()}
    label = f"{a.list_calls} x files_list"
    vs_httpx, httpx_result = round_verdict(
        paired(s["files_list.facade"], s["files_list.httpx"]), lambda r: r <= 1.25
    )
    speedup, vendor_result = round_verdict(
        paired(s["files_list.requests"], s["files_list.facade"]), lambda r: r >= 1.3
    )
    rows.append(
        Row(
            "3",
            f"{label}: vs httpx.Client (keep-alive)",
            f"{ms['facade']:.3f} ms/call",
            f"httpx {ms['httpx']:.3f} ms/call",
            f"{vs_httpx:.2f}x httpx",
            "<= 1.25x httpx",
            httpx_result,
            profile="files_list",
            values=values,
        )
    )
    rows.append(
        Row(
            "3",
            f"{label}: vs requests (new connection)",
            f"{ms['facade']:.3f} ms/call",
            f"requests {ms['requests']:.3f} ms/call (httpx {ms['requests'] / ms['httpx']:.2f}x)",
            f"{speedup:.2f}x faster",
            ">= 1.30x faster",
            vendor_result,
            profile="files_list",
            values=values,
        )
    )
    floor = ms["raw"] / ms["facade"]
    rows.append(
        Row(
            "3",
            f"{label}: emulator floor (raw keep-alive)",
            f"+{ms['facade'] - ms['raw']:.3f} ms/call over it",
            f"raw socket {ms['raw']:.3f} ms/call",
            f"floor {floor:.0%} of facade",
            "info",
            "bound: emulator" if floor >= 0.5 else "bound: client",
            values=values,
        )
    )
    capacity, bounds = capacity_rows(s, labels)
    rows += capacity
    bare = median(s["startup.python_pass"])
    for key, label, target in (
        ("dphi_em_help", "dphi-em --help", True),
        ("import_dphi_em", "python -c 'import dphi_em'", False),
    ):
        ours = median(s[f"startup.{key}"])
        differences = [
            o["seconds"] - b["seconds"]
            for o, b in zip(s[f"startup.{key}"], s["startup.python_pass"], strict=True)
        ]
        difference, result = round_verdict(differences, lambda d: d <= 0.25)
        rows.append(
            Row(
                "5",
                f"start-up: {label}",
                f"{ours:.3f} s",
                f"python -c pass {bare:.3f} s",
                f"+{difference:.3f} s",
                "<= +0.25 s" if target else "info",
                result if target else "info",
                profile="startup",
                values={"ours_s": ours, "bare_s": bare, "difference_s": difference},
            )
        )
    return rows, bounds


def format_table(rows: list[Row]) -> str:
    """A plain-text table (also valid Markdown)."""
    header = ("#", "measurement", "facade (ours)", "baselines", "ratio", "target", "result")
    cells = [header] + [
        (r.number, r.measurement, r.ours, r.baselines, r.ratio, r.target, r.result) for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in cells[1:])])


# -- the machine ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Where the figures come from."""
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="utf-8") as info:
        memory = f"{int(info.readline().split()[1]) / MIB:.1f} GiB"
    curl = subprocess.run(["curl", "--version"], capture_output=True, text=True, check=False)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "kernel": platform.release(),
        "curl": curl.stdout.split("\n", 1)[0].split(" (")[0],
        "loadavg_start": os.getloadavg(),
    }


# -- main -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--big-mib", type=int, default=1024, help="size of the big file (default 1024)")
    add("--small-count", type=int, default=1000, help="number of small files (default 1000)")
    add("--small-kib", type=int, default=4, help="size of each small file (default 4)")
    add("--runs-big", type=int, default=5, help="runs per client of each big transfer")
    add("--runs-small", type=int, default=7, help="runs per client of the small-files uplink")
    add("--runs-list", type=int, default=7, help="children per client of the per-call figure")
    add("--list-calls", type=int, default=500, help="files_list calls per child (default 500)")
    add("--runs-startup", type=int, default=21, help="runs of each start-up command")
    add("--json", type=Path, default=ROOT / "bench-results.json", help="where to write JSON")
    add("--no-profile", action="store_true", help="skip the profiles of missed targets")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def phase(name: str, times: dict[str, float]) -> Iterator[None]:
    print(f"{name} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    yield
    times[name] = round(time.perf_counter() - started, 2)


def run(args: argparse.Namespace, tmp: Path, servers: list[Server]) -> dict[str, Any]:
    """Every phase; returns the JSON document."""
    if shutil.which("curl") is None:
        raise BenchError("curl is not installed: it is the baseline of figures 1 and 2.")
    info = machine()
    times: dict[str, float] = {}
    with phase("payloads", times):
        payloads = make_payloads(tmp / "payloads", args.big_mib, args.small_count, args.small_kib)
    with phase("servers", times):
        emulator_cmd = [
            PY, "-m", "dphi_em_emulator", "--host", "127.0.0.1", "--port", "0",
            "--data-dir", str(tmp / "emulator-data"), "--user", f"{USER}:{PASSWORD}",
            "--no-lock", "--access-lifetime", "7200", "--log-level", "warning",
        ]  # fmt: skip
        servers.append(
            Server("emulator", emulator_cmd, tmp / "emulator.log", r"serving on (http://\S+/)")
        )
        sink_cmd = [PY, str(HERE / "sink.py"), "serve", str(payloads.big)]
        servers.append(Server("sink", sink_cmd, tmp / "sink.log", r"port (\d+)"))
        em = EM(servers[0].address)
        seed_listing(em)
    bench = Bench(
        tmp=tmp,
        emulator_url=servers[0].address,
        sink_url=f"http://127.0.0.1:{servers[1].address}/",
        em=em,
        payloads=payloads,
        args=args,
        servers=servers,
    )
    bench.curl_idle_kib = run_process(["curl", "--version"], tmp).maxrss_kib
    with phase("5 start-up", times):
        bench.startup(args.runs_startup)
    with phase("3 per-call overhead", times):
        bench.listings(args.runs_list, args.list_calls)
    with phase("4 capacity of each side", times):
        bench.capacity(args.runs_big, args.runs_small)
    with phase("1 uplink big", times):
        bench.uplinks("uplink_big", [payloads.big], args.runs_big)
    with phase("1 uplink small", times):
        bench.uplinks("uplink_small", payloads.small, args.runs_small)
    with phase("2 downlink big", times):
        bench.downlinks(args.runs_big)
    for server in servers:
        server.check()
    rows, bounds = figures(bench)
    profiles: dict[str, str] = {}
    if not args.no_profile:
        with phase("profiles of misses", times):
            for row in rows:
                if row.result == "MISS" and row.profile and row.profile not in profiles:
                    profiles[row.profile] = bench.profile(row.profile)
    info["loadavg_end"] = os.getloadavg()
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": info,
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "emulator": "own process, 127.0.0.1, --no-lock (no 423 answers), uvicorn/h11",
        "rows": [vars(row) for row in rows],
        "table": format_table(rows),
        "bounds": bounds,
        "profiles": profiles,
        "phases_s": times,
        "samples": bench.samples,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; print the table; write the JSON. Exit 1 when a client failed."""
    args = parse_args(argv)
    started = time.perf_counter()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    tmp = Path(tempfile.mkdtemp(prefix="dphi-em-bench-"))
    servers: list[Server] = []
    try:
        document = run(args, tmp, servers)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench interrupted", file=sys.stderr)
        return 130
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    document["runtime_s"] = round(time.perf_counter() - started, 1)
    m = document["machine"]
    print(
        f"dphi-em bench, {document['date']}: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, "
        f"Python {m['python']}, {m['curl']}; load {m['loadavg_start'][0]:.2f} -> "
        f"{m['loadavg_end'][0]:.2f}; {document['runtime_s']:.0f} s"
    )
    busiest = max(m["loadavg_start"][0], m["loadavg_end"][0])
    if busiest > m["nproc"] / 2:
        print(
            f"warning: the machine was busy (1-minute load {busiest:.2f} on {m['nproc']} CPUs): "
            "figures are disturbed; '(k/n rounds pass)' marks figures whose rounds disagree. "
            "Re-run on a quiet machine."
        )
    print(document["table"])
    print("\nWhich side bounds each transfer figure:")
    for figure, text in document["bounds"].items():
        print(f"- {figure}: {text}")
    for key, text in document["profiles"].items():
        print(f"\nProfile of the facade child for the missed figure {key!r} (cProfile, top 15):")
        print(text)
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
