"""The measurements: payloads, and one method per figure of the table.

Every client runs in its own child process, interleaved run by run (A B C A B C ...) so
that a disturbance on a shared machine hits all clients alike; each sample records the
child's timed seconds, CPU seconds, peak RSS growth and the CPU seconds each server spent
meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _procs import (
    EM,
    ENV,
    HERE,
    KIB,
    MIB,
    PASSWORD,
    PY,
    USER,
    BenchError,
    Proc,
    Server,
    run_process,
)

__all__ = ["FACADES", "LIST_POD", "ROUND", "Bench", "Payloads", "make_payloads", "seed_listing"]

#: The pod whose small volume every client lists in the per-call figure.
LIST_POD = "bench-list"
#: Files per uplink call for the baselines (what the facade does: Django's 100-file limit).
BATCH = 100
#: The facade's clients and the prefix of their children in `clients.py`.
FACADES = {"facade": "facade", "async": "async"}
#: The clients of one round of a transfer figure, in order: each facade next to curl.
ROUND = ("facade", "curl", "async", "requests")


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
    #: The link figures (`_link.py`): the proxy's URL and their payloads.
    link_url: str = ""
    link: Any = None

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
        if who in FACADES:
            args = {**self.facade_args(url), "paths": [str(p) for p in paths], "dest": dest}
            return self.client(
                f"{FACADES[who]}_uplink", {**args, "bytes": total, "check_count": not sink}
            )
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
        """`runs` interleaved uplinks by facade, curl, async facade and requests."""
        self.warm_up_uplink(paths)
        for _ in range(runs):
            for who in ROUND:
                sample = self.uplink_once(who, paths, "up", self.emulator_url)
                self.check_uplinked("up", paths)
                sample["mib"] = sum(p.stat().st_size for p in paths) / MIB
                self.record(f"{label}.{who}", sample)

    def warm_up_uplink(self, paths: list[Path]) -> None:
        """One raw uplink, not recorded: the first round of a phase (after the machine moved
        gigabytes around) was the slowest of its phase for every client."""
        self.uplink_once("raw", paths, "up", self.emulator_url)
        self.check_uplinked("up", paths)

    # ---- 2. downlink

    def downlink_once(self, who: str, url: str) -> dict[str, Any]:
        """One downlink of the big file by `who` into a fresh folder (removed afterwards)."""
        out_dir = self.tmp / f"down-{secrets.token_hex(4)}"
        out_dir.mkdir()
        size = self.payloads.big_bytes
        try:
            if who in FACADES:
                args = {**self.facade_args(url), "filepath": "src/big.bin"}
                return self.client(
                    f"{FACADES[who]}_downlink", {**args, "out_dir": str(out_dir), "bytes": size}
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
        """`runs` interleaved downlinks of the big file by facade, curl, async and requests."""
        self.downlink_once("curl", self.emulator_url)  # warm-up, not recorded
        for _ in range(runs):
            for who in ROUND:
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
                ("async", "async_list"),
                ("httpx_async", "httpx_async_list"),
                ("requests", "requests_list"),
            ):
                base = self.facade_args() if who in FACADES else self.token_args()
                sample = self.client(name, {**base, "pod_name": LIST_POD, "calls": calls})
                self.record(f"files_list.{who}", sample)

    # ---- 4. capacity of each side

    def capacity(self, runs: int, runs_small: int) -> None:
        """The emulator against raw-socket clients; the facades and curl against the raw sink.

        The last raw uplink of the big file stays on the emulator as `src/big.bin`, the
        file every downlink figure reads.
        """
        big, small = [self.payloads.big], self.payloads.small
        self.warm_up_uplink(big)
        self.downlink_once("curl", self.sink_url)  # warm-up, not recorded
        for run in range(runs):
            if run:
                self.em.delete("src")  # replacing a 1 GiB file costs the emulator its unlink
            sample = self.uplink_once("raw", big, "src", self.emulator_url)
            self.record("emulator_uplink_big.raw", {**sample, "mib": self.mib})
            args = {**self.token_args(), "filepath": "src/big.bin"}
            self.record("emulator_downlink_big.raw", {**self.raw("down", args), "mib": self.mib})
            for who in ("facade", "curl", "async"):
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
            for who in ("facade", "curl", "async"):
                sample = self.uplink_once(who, small, "up", self.sink_url)
                self.record(f"sink_uplink_small.{who}", {**sample, "mib": small_mib})

    @property
    def mib(self) -> float:
        return self.payloads.big_bytes / MIB

    # ---- 5. start-up

    def startup(self, runs: int) -> None:
        """Wall time of three commands, interleaved, with compiled bytecode.

        As installed (pip compiles every module at install time), not as a checkout run
        with `PYTHONDONTWRITEBYTECODE` (the bench's children, and this machine's shells),
        where every start compiled the project's own modules from source again (about a
        fifth of `dphi-em --help`'s CPU). The bytecode goes to a cache in the bench's
        temporary folder (`PYTHONPYCACHEPREFIX`), written by one unrecorded run of each
        command; nothing is written into the tree.
        """
        script = Path(PY).parent / "dphi-em"
        help_cmd = [str(script), "--help"] if script.exists() else [PY, "-m", "dphi_em", "--help"]
        commands = {
            "python_pass": [PY, "-c", "pass"],
            "import_dphi_em": [PY, "-c", "import dphi_em"],
            "dphi_em_help": help_cmd,
        }
        env = {k: v for k, v in ENV.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(self.tmp / "pycache")
        for cmd in commands.values():  # writes the bytecode: not recorded
            run_process(cmd, self.tmp, env=env)
        for _ in range(runs):
            for key, cmd in commands.items():
                proc = run_process(cmd, self.tmp, env=env)
                self.samples.setdefault(f"startup.{key}", []).append(
                    {"seconds": proc.wall, "maxrss_kib": proc.maxrss_kib}
                )

    # ---- profiles

    def profile(self, key: str) -> str:
        """The cProfile summary of one facade child for the figure `key`.

        `key` is a figure (`uplink_big`, ..., `startup`: the `EMClient` child), or
        `async:` and a transfer or listing figure (the `AsyncEMClient` child); `alone:`
        before a transfer figure runs it against the raw sink or source (figure 4).
        """
        *flags, what = key.split(":")
        prefix = FACADES["async" if "async" in flags else "facade"]
        alone = "alone" in flags
        args = self.facade_args(self.sink_url if alone else None)
        if what in ("uplink_big", "uplink_small"):
            paths = [self.payloads.big] if what == "uplink_big" else self.payloads.small
            size = self.payloads.big_bytes if what == "uplink_big" else self.payloads.small_bytes
            args = {**args, "paths": [str(p) for p in paths], "dest": "up", "bytes": size}
            report = self.client(
                f"{prefix}_uplink", {**args, "check_count": not alone, "profile": True}
            )
            if not alone:
                self.check_uplinked("up", paths)
        elif what == "downlink_big":
            out_dir = self.tmp / "down-profile"
            out_dir.mkdir()
            try:
                args = {**args, "filepath": "src/big.bin", "out_dir": str(out_dir)}
                report = self.client(
                    f"{prefix}_downlink",
                    {**args, "bytes": self.payloads.big_bytes, "profile": True},
                )
            finally:
                shutil.rmtree(out_dir, ignore_errors=True)
        elif what == "files_list" and not alone:
            args = {**args, "pod_name": LIST_POD, "calls": self.args.list_calls}
            report = self.client(f"{prefix}_list", {**args, "profile": True})
        elif what == "startup" and prefix == "facade" and not alone:
            report = self.client("facade_help", {"profile": True})
        else:
            raise ValueError(key)
        profile: str = report["profile"]
        return profile
