"""`make bench`: speed and memory of the facade against baselines measured in the same run.

Starts the emulator in its own process on 127.0.0.1 (lock off: `--no-lock`, so no baseline
ever meets a 423 it would not retry) and a raw-socket sink/source (`sink.py`), generates
random payloads in a temporary folder, then runs every client in its own child process,
interleaved run by run (A B C A B C ...) so that a disturbance on a shared machine hits all
clients alike. Every figure is a median over the runs, compared with a baseline of the same
run. Prints one table and writes it, with every sample, as JSON (`bench-results.json`).

Figure 6 runs the facade and its baselines over an emulated link (`linkproxy.py`: 20 ms RTT,
50 Mbit/s each way) in front of the emulator; `--only link` runs that figure alone.

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
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from _link import link_profile, link_rows, make_link_payloads, run_link, start_proxy
from _phases import Bench, make_payloads, seed_listing
from _procs import EM, HERE, PASSWORD, PY, ROOT, USER, BenchError, Server, run_process
from _report import figures, format_table, machine

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
    add(
        "--only",
        choices=("all", "link"),
        default="all",
        help="'link': only the link figures (6), with small payloads for the others' servers",
    )
    add("--link-rtt-ms", type=float, default=20.0, help="RTT of the emulated link (default 20)")
    add("--link-mbit", type=float, default=50.0, help="its cap per direction (default 50)")
    add("--link-mib", type=int, default=100, help="size of the link's big file (default 100)")
    add("--link-tree-files", type=int, default=200, help="files of the synced tree (200)")
    add("--link-runs", type=int, default=3, help="rounds of the link listing and sync (3)")
    add("--link-runs-workflow", type=int, default=5, help="rounds of the link workflow (5)")
    add("--link-runs-big", type=int, default=1, help="rounds of the link's big transfers (1)")
    add("--link-calls", type=int, default=100, help="files_list calls per link child (100)")
    add("--json", type=Path, default=ROOT / "bench-results.json", help="where to write JSON")
    add("--no-profile", action="store_true", help="skip the profiles of missed targets")
    add(
        "--tmp-dir",
        type=Path,
        default=None,
        help="where payloads, the emulator's data and downloads go (default: /dev/shm when "
        "it and the memory have room, else the system's temporary folder)",
    )
    return parser.parse_args(argv)


def scratch_root(args: argparse.Namespace) -> Path | None:
    """The folder for the bench's files: `--tmp-dir`, else tmpfs when there is room.

    On a shared disk the file system's own work (journal, writeback of other engineers'
    tests) made the emulator's CPU for one 1,000-file uplink vary 5x from run to run; on
    tmpfs it varies by 10%. The bench measures the clients and the emulator, not the disk.
    """
    if args.tmp_dir is not None:
        return Path(args.tmp_dir)
    # At most: the payloads, two copies on the emulator, one download.
    big_mib = args.link_mib if args.only == "link" else max(args.big_mib, args.link_mib)
    need = (big_mib * 4 / 1024 + 0.5) * 1024**3
    shm = Path("/dev/shm")
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(shm).free
        if free > need and _mem_available() > need + 8 * 1024**3:
            return shm
    return None


def _mem_available() -> int:
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="ascii") as info:
        for line in info:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


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
    only_link = args.only == "link"
    with phase("payloads", times):
        if only_link:  # the sink still serves a file: a small one
            payloads = make_payloads(tmp / "payloads", 1, 1, 1)
        else:
            payloads = make_payloads(
                tmp / "payloads", args.big_mib, args.small_count, args.small_kib
            )
        link_payloads = make_link_payloads(tmp / "link", args.link_mib, args.link_tree_files)
    with phase("servers", times):
        emulator_cmd = [
            PY, "-m", "dphi_em_emulator", "--host", "127.0.0.1", "--port", "0",
            "--data-dir", str(tmp / "emulator-data"), "--user", f"{USER}:{PASSWORD}",
            "--no-lock", "--access-lifetime", "7200", "--log-level", "warning",
            "--pods", "simulated",
        ]  # fmt: skip
        servers.append(
            Server(
                "emulator",
                emulator_cmd,
                tmp / "emulator.log",
                r"serving on (http://127\.0\.0\.1:(\d+)/)",
            )
        )
        sink_cmd = [PY, str(HERE / "sink.py"), "serve", str(payloads.big)]
        servers.append(Server("sink", sink_cmd, tmp / "sink.log", r"port ((\d+))"))
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
    if not only_link:
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
    with phase("6 over the emulated link", times):
        run_link(bench, link_payloads, start_proxy(bench, args.link_rtt_ms, args.link_mbit))
    for server in servers:
        server.check()
    rows, bounds = ([], {}) if only_link else figures(bench)
    rows += link_rows(bench)
    profiles: dict[str, str] = {}
    if not args.no_profile:
        with phase("profiles of misses", times):
            for row in rows:
                if row.result.startswith("MISS") and row.profile and row.profile not in profiles:
                    profiles[row.profile] = (
                        link_profile(bench, row.profile)
                        if row.profile.startswith("link:")
                        else bench.profile(row.profile)
                    )
    info["loadavg_end"] = os.getloadavg()
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": info,
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "emulator": "own process, 127.0.0.1, --no-lock (no 423 answers), simulated pods, "
        "uvicorn/h11",
        "link": f"linkproxy.py in front of the emulator: {args.link_rtt_ms:g} ms RTT, "
        f"{args.link_mbit:g} Mbit/s each way",
        "files": str(tmp),
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
    # SIGINT too: a shell starts background jobs with it ignored, and the clean-up of 1 GiB
    # files must run whatever stops the bench.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    tmp = Path(tempfile.mkdtemp(prefix="dphi-em-bench-", dir=scratch_root(args)))
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
        f"{m['loadavg_end'][0]:.2f}; {document['runtime_s']:.0f} s; files in "
        f"{Path(document['files']).parent}"
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
        kind, _, figure = key.rpartition(":")
        who = "AsyncEMClient" if kind == "async" else "EMClient"
        if kind == "link":
            figure = f"{figure} over the link"
        print(f"\nProfile of the {who} child for the missed figure {figure!r} (cProfile, top 15):")
        print(text)
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
