"""The link rows (figure 6): the facade against the vendor's way and curl over an emulated
link of 20 ms RTT and 50 Mbit/s each way (`linkproxy.py`, in its own process, in front of
the emulator).

Each row is a ratio of two clients measured side by side in the same run, interleaved
round by round, both through the same proxy:

- 100 `files_list` calls: `EMClient` (one keep-alive connection) against module-level
  `requests.get` (a new connection per call), and against a raw keep-alive socket making
  the same calls (`sink.py list`: no client work). The raw child opens its connection in
  its timed region (one RTT through the proxy), so each round also times it making one call:
  the difference of the two, over the calls between them, is a call's cost alone;
- the seed's simple operations end to end (log in, uplink Dockerfile and script, build,
  run, status, downlink, delete): `EMClient` against one `requests` call per step;
- a 100 MiB uplink and downlink: `EMClient` against curl;
- `EMClient.sync_up` of an unchanged 200-file tree against `EMClient.uplink` of the tree.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _phases import LIST_POD, Bench
from _procs import HERE, KIB, MIB, PY, ROOT, Server
from _report import Row, paired, round_verdict

__all__ = [
    "LinkPayloads",
    "link_profile",
    "link_rows",
    "make_link_payloads",
    "run_link",
    "start_proxy",
]

#: The seed's example files (examples/01_simple_operations.py uplinks these two).
EXAMPLE_FILES = ROOT / "examples" / "files"
#: Where the link figures put things on the emulator's default volume.
BIG_SRC, BIG_UP, TREE_DEST = "linksrc", "linkup", "linktree"


@dataclass
class LinkPayloads:
    """The big file and the tree of the link figures."""

    big: Path
    big_bytes: int
    tree: Path
    tree_files: int
    tree_bytes: int


def make_link_payloads(folder: Path, big_mib: int, tree_files: int) -> LinkPayloads:
    """A `big_mib` MiB file, and a tree of `tree_files` files (4 to 124 KiB, 64 KiB on
    average) in ten folders of two levels, random bytes."""
    folder.mkdir(parents=True)
    big = folder / "link-big.bin"
    with open(big, "wb") as out:
        for _ in range(big_mib):
            out.write(os.urandom(MIB))
    tree = folder / "tree"
    total = 0
    for i in range(tree_files):
        sub = tree / f"part-{i % 5}" / f"run-{i % 2}"
        sub.mkdir(parents=True, exist_ok=True)
        size = (4 + 4 * (i * 7 % 31)) * KIB
        (sub / f"file-{i:03d}.bin").write_bytes(os.urandom(size))
        total += size
    return LinkPayloads(big, big_mib * MIB, tree, tree_files, total)


def start_proxy(bench: Bench, rtt_ms: float, mbit: float) -> str:
    """The link proxy in its own process in front of the emulator; its URL."""
    target = urllib.parse.urlsplit(bench.emulator_url)
    cmd = [
        PY, str(HERE / "linkproxy.py"), "--target", f"{target.hostname}:{target.port}",
        "--rtt-ms", str(rtt_ms), "--mbit", str(mbit),
    ]  # fmt: skip
    server = Server("linkproxy", cmd, bench.tmp / "linkproxy.log", r"port ((\d+))")
    bench.servers.append(server)
    return f"http://127.0.0.1:{server.address}/"


def run_link(bench: Bench, payloads: LinkPayloads, proxy_url: str) -> None:
    """Every link figure, each client through `proxy_url`; samples under `link_*`."""
    a = bench.args
    bench.link_url = proxy_url
    bench.link = payloads
    for _ in range(a.link_runs):
        _listing(bench, proxy_url, a.link_calls)
    for _ in range(a.link_runs_workflow):
        _workflow(bench, proxy_url)
    # Every measured uplink of the tree replaces it, like the re-uplink it stands for.
    bench.client("facade_tree_uplink", _tree_args(bench, bench.emulator_url, payloads))
    for _ in range(a.link_runs):
        _sync(bench, proxy_url, payloads)
    bench.em.delete(TREE_DEST)
    # The file the downlinks read, put there without the proxy.
    bench.uplink_once("raw", [payloads.big], BIG_SRC, bench.emulator_url)
    for _ in range(a.link_runs_big):
        _big(bench, proxy_url, payloads)
    bench.em.delete(BIG_SRC)


def _listing(bench: Bench, url: str, calls: int) -> None:
    """One round: the facade, requests, and a raw keep-alive socket (`calls` calls, then one
    call: the link itself, one round trip per call, and the emulator's floor)."""
    facade = {**bench.facade_args(url), "pod_name": LIST_POD, "calls": calls}
    bench.record("link_list.facade", bench.client("facade_list", facade))
    vendor = {"url": url, "token": bench.em.token, "pod_name": LIST_POD, "calls": calls}
    bench.record("link_list.requests", bench.client("requests_list", vendor))
    bench.record("link_list.raw", bench.raw("list", vendor))
    bench.record("link_list.raw1", bench.raw("list", {**vendor, "calls": 1}))


def _raw_call_seconds(bench: Bench) -> list[float]:
    """Per round, the seconds of one call on the raw keep-alive socket, without the set-up
    of its connection: (`calls` calls - one call) / (`calls` - 1)."""
    s, calls = bench.samples, bench.args.link_calls
    return [
        (many["seconds"] - one["seconds"]) / (calls - 1)
        for many, one in zip(s["link_list.raw"], s["link_list.raw1"], strict=True)
    ]


def _workflow_args(bench: Bench, url: str) -> dict[str, Any]:
    out_dir = bench.tmp / f"down-{secrets.token_hex(4)}"
    out_dir.mkdir()
    script = EXAMPLE_FILES / "echo-test.sh"
    return {
        **bench.facade_args(url),
        "paths": [str(EXAMPLE_FILES / "Dockerfile"), str(script)],
        "script": script.read_text(),
        "out_dir": str(out_dir),
    }


def _workflow(bench: Bench, url: str) -> None:
    for who in ("facade", "requests"):
        args = _workflow_args(bench, url)
        try:
            bench.record(f"link_workflow.{who}", bench.client(f"{who}_workflow", args))
        finally:
            shutil.rmtree(args["out_dir"], ignore_errors=True)


def _tree_args(bench: Bench, url: str, payloads: LinkPayloads) -> dict[str, Any]:
    return {
        **bench.facade_args(url),
        "local_dir": str(payloads.tree),
        "dest": TREE_DEST,
        "remote_dir": f"{TREE_DEST}/{payloads.tree.name}",
        "bytes": payloads.tree_bytes,
        "files": payloads.tree_files,
    }


def _sync(bench: Bench, url: str, payloads: LinkPayloads) -> None:
    """A full re-uplink of the tree, then a sync of the same, now unchanged, tree."""
    args = _tree_args(bench, url, payloads)
    bench.record("link_tree.uplink", bench.client("facade_tree_uplink", args))
    bench.record("link_tree.sync", bench.client("facade_sync_up", args))


def _big(bench: Bench, url: str, payloads: LinkPayloads) -> None:
    """One round: uplink by the facade and by curl, downlink by the facade and by curl."""
    big, size = payloads.big, payloads.big_bytes
    mib = size / MIB
    for who in ("facade", "curl"):
        if who == "facade":
            args = {**bench.facade_args(url), "paths": [str(big)], "dest": BIG_UP, "bytes": size}
            sample = bench.client("facade_uplink", args)
        else:
            sample = bench.curl(
                [
                    [
                        "-o", "/dev/null", *bench.curl_auth(), "-F", f"dest_path={BIG_UP}",
                        "-F", f"files=@{big}", url + "em/files/uplink",
                    ]
                ]
            )  # fmt: skip
        bench.check_uplinked(BIG_UP, [big])
        bench.record(f"link_uplink.{who}", {**sample, "mib": mib})
    filepath = f"{BIG_SRC}/{big.name}"
    for who in ("facade", "curl"):
        out_dir = bench.tmp / f"down-{secrets.token_hex(4)}"
        out_dir.mkdir()
        try:
            if who == "facade":
                args = {**bench.facade_args(url), "filepath": filepath, "out_dir": str(out_dir)}
                sample = bench.client("facade_downlink", {**args, "bytes": size})
            else:
                target = out_dir / big.name
                query = urllib.parse.urlencode({"filepath": filepath})
                sample = bench.curl(
                    [["-o", str(target), *bench.curl_auth(), f"{url}em/files/downlink?{query}"]]
                )
                if target.stat().st_size != size:
                    raise RuntimeError(f"curl wrote {target.stat().st_size} bytes")
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
        bench.record(f"link_downlink.{who}", {**sample, "mib": mib})


# -- rows -----------------------------------------------------------------------------------


def _ms(samples: list[dict[str, Any]]) -> float:
    return float(statistics.median(s["seconds"] for s in samples)) * 1000


def link_rows(bench: Bench) -> list[Row]:
    """The link rows of the table, each a ratio of two clients measured side by side."""
    s = bench.samples
    a = bench.args
    link = f"{a.link_rtt_ms:g} ms RTT, {a.link_mbit:g} Mbit/s"
    rows: list[Row] = []

    raw_call = _raw_call_seconds(bench)
    raw_ms = statistics.median(raw_call) * 1000
    big_runs = s["link_uplink.curl"] + s["link_downlink.curl"]
    big_runs += s["link_uplink.facade"] + s["link_downlink.facade"]
    proxy_busy = statistics.median(x["linkproxy_cpu_s"] / x["seconds"] for x in big_runs)
    rows.append(
        Row(
            "6",
            f"{link}: the link (raw keep-alive files_list; the proxy's CPU)",
            f"{raw_ms:.1f} ms/call",
            f"RTT {a.link_rtt_ms:g} ms + emulator floor",
            f"proxy busy {proxy_busy:.0%} at {_mbit(s['link_downlink.curl']):.1f} Mbit/s",
            "info",
            "info",
            values={"raw_ms_per_call": raw_ms, "proxy_busy": proxy_busy},
        )
    )

    speedup, result = round_verdict(
        paired(s["link_list.requests"], s["link_list.facade"]), lambda r: r >= 1.8
    )
    ours, theirs = (_ms(s[f"link_list.{w}"]) / a.link_calls for w in ("facade", "requests"))
    rows.append(
        Row(
            "6",
            f"{link}: {a.link_calls} x files_list vs requests (new connection)",
            f"{ours:.1f} ms/call",
            f"requests {theirs:.1f} ms/call",
            f"{speedup:.2f}x faster",
            ">= 1.80x faster",
            result,
            profile="link:files_list",
            values={"facade_ms_per_call": ours, "requests_ms_per_call": theirs},
        )
    )
    over_raw, result = round_verdict(
        [
            f["seconds"] / a.link_calls / raw
            for f, raw in zip(s["link_list.facade"], raw_call, strict=True)
        ],
        lambda r: r <= 1.05,
    )
    rows.append(
        Row(
            "6",
            f"{link}: {a.link_calls} x files_list vs a raw keep-alive socket",
            f"{ours:.1f} ms/call",
            f"raw socket {raw_ms:.1f} ms/call (its connection's set-up left out)",
            f"{over_raw:.3f}x raw",
            "<= 1.05x raw",
            result,
            profile="link:files_list",
            values={"facade_ms_per_call": ours, "raw_ms_per_call": raw_ms, "over_raw": over_raw},
        )
    )

    speedup, result = round_verdict(
        paired(s["link_workflow.requests"], s["link_workflow.facade"]), lambda r: r >= 1.5
    )
    ours, theirs = (_ms(s[f"link_workflow.{w}"]) for w in ("facade", "requests"))
    construct = statistics.median(x["result"]["construct_s"] for x in s["link_workflow.facade"])
    # The same rounds with the facade's time less its `EMClient(...)`: what the calls cost.
    calls_only = statistics.median(
        r["seconds"] / (f["seconds"] - f["result"]["construct_s"])
        for f, r in zip(s["link_workflow.facade"], s["link_workflow.requests"], strict=True)
    )
    rows.append(
        Row(
            "6",
            f"{link}: simple operations, end to end, vs requests",
            f"{ours:.0f} ms (EMClient() {construct * 1000:.0f})",
            f"requests {theirs:.0f} ms",
            f"{speedup:.2f}x faster ({calls_only:.2f}x without EMClient())",
            ">= 1.50x faster",
            result,
            profile="link:workflow",
            values={
                "facade_ms": ours,
                "requests_ms": theirs,
                "construct_ms": construct * 1000,
                "speedup_without_construct": calls_only,
            },
        )
    )

    tree = bench.link
    big = f"{tree.big_bytes // MIB} MiB"
    for key, what in (("uplink", "uplink"), ("downlink", "downlink")):
        facade, curl = s[f"link_{key}.facade"], s[f"link_{key}.curl"]
        ratio, result = round_verdict([1 / r for r in paired(facade, curl)], lambda r: r >= 0.95)
        ours_mbit = _mbit(facade)
        curl_mbit = _mbit(curl)
        rows.append(
            Row(
                "6",
                f"{link}: {what} 1 x {big}",
                f"{ours_mbit:.1f} Mbit/s",
                f"curl {curl_mbit:.1f} Mbit/s",
                f"{ratio:.2f}x curl",
                ">= 0.95x curl",
                result,
                profile=f"link:{key}",
                values={"facade_mbit": ours_mbit, "curl_mbit": curl_mbit, "ratio": ratio},
            )
        )

    speedup, result = round_verdict(
        paired(s["link_tree.uplink"], s["link_tree.sync"]), lambda r: r >= 20
    )
    ours, theirs = (_ms(s[f"link_tree.{w}"]) for w in ("sync", "uplink"))
    rows.append(
        Row(
            "6",
            f"{link}: sync_up of an unchanged tree "
            f"({tree.tree_files} files, {tree.tree_bytes / MIB:.1f} MiB)",
            f"{ours:.0f} ms",
            f"full re-uplink {theirs:.0f} ms",
            f"{speedup:.1f}x faster",
            ">= 20x faster",
            result,
            profile="link:sync",
            values={"sync_ms": ours, "uplink_ms": theirs},
        )
    )
    return rows


def _mbit(samples: list[dict[str, Any]]) -> float:
    return float(statistics.median(x["mib"] * MIB * 8 / x["seconds"] / 1e6 for x in samples))


# -- profiles -------------------------------------------------------------------------------


def link_profile(bench: Bench, key: str) -> str:
    """The cProfile summary of the `EMClient` child of a missed link figure (`link:WHAT`)."""
    url, payloads = bench.link_url, bench.link
    what = key.partition(":")[2]
    if what == "files_list":
        args = {**bench.facade_args(url), "pod_name": LIST_POD, "calls": bench.args.link_calls}
        report = bench.client("facade_list", {**args, "profile": True})
    elif what == "workflow":
        args = _workflow_args(bench, url)
        try:
            report = bench.client("facade_workflow", {**args, "profile": True})
        finally:
            shutil.rmtree(args["out_dir"], ignore_errors=True)
    elif what == "sync":
        args = _tree_args(bench, url, payloads)
        bench.client("facade_tree_uplink", args)
        report = bench.client("facade_sync_up", {**args, "profile": True})
        bench.em.delete(TREE_DEST)
    elif what == "uplink":
        size = payloads.big_bytes
        args = {**bench.facade_args(url), "paths": [str(payloads.big)], "dest": BIG_UP}
        report = bench.client("facade_uplink", {**args, "bytes": size, "profile": True})
        bench.check_uplinked(BIG_UP, [payloads.big])
    elif what == "downlink":
        bench.uplink_once("raw", [payloads.big], BIG_SRC, bench.emulator_url)
        out_dir = bench.tmp / "down-profile"
        out_dir.mkdir()
        try:
            args = {
                **bench.facade_args(url),
                "filepath": f"{BIG_SRC}/{payloads.big.name}",
                "out_dir": str(out_dir),
                "bytes": payloads.big_bytes,
            }
            report = bench.client("facade_downlink", {**args, "profile": True})
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
            bench.em.delete(BIG_SRC)
    else:
        raise ValueError(key)
    profile: str = report["profile"]
    return profile
