"""`python -m dphi_em_emulator images list|prepare` (and `dphi-em emulator images ...`).

Both talk to the Docker engine directly, without a running emulator:

- `list` shows every entry of the onboard registry's catalogue with what the engine has for
  it: the real image, a stand-in (what it was made from, its architecture), or nothing and
  why (made on first use, or no offline stand-in);
- `prepare NAME...` makes the stand-ins of those entries now (CI, offline laptops), so that
  the first build or pod does not wait for them. `prepare python:3.12-alpine` is the way to
  get a Python base image (Debian bookworm's python3, arm64 where the machine runs it).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._catalogue import Catalogue, Entry
from ._standins import (
    StandInError,
    StandIns,
    default_arch,
    describe,
    recipe_for,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dphi_em_emulator images",
        description="The onboard registry's base images and their offline stand-ins in the "
        "Docker engine (no running emulator needed).",
    )
    common = argparse.ArgumentParser(add_help=False)
    add = common.add_argument
    add("--catalogue", type=Path, metavar="FILE", help="a catalogue replacing the vendor's list")
    add("--docker-host", metavar="URL", help="the Docker engine (default: DOCKER_HOST)")
    add(
        "--standin-record",
        type=Path,
        metavar="FILE",
        help="the stand-ins' record (default: $XDG_CACHE_HOME/dphi-em/standins.json)",
    )
    add(
        "--arch",
        choices=("amd64", "arm64"),
        help="the stand-ins' architecture (default: arm64 when the machine runs it, as CG2)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser(
        "list", parents=[common], help="every catalogue entry and what the engine has for it"
    )
    listing.add_argument("--json", action="store_true", help="one JSON document")
    prepare = commands.add_parser(
        "prepare", parents=[common], help="make the stand-ins of NAME... now"
    )
    prepare.add_argument(
        "--json",
        action="store_true",
        help="end with one JSON list: name, recipe, id, architecture, seconds",
    )
    prepare.add_argument(
        "names",
        nargs="+",
        metavar="NAME",
        help="catalogue entries: python:3.12-alpine, fpga.dphi.space:5000/busybox:latest...",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    """Run `images ...`; return the exit code (0 ok, 1 something failed, 2 bad usage)."""
    args = build_parser().parse_args(list(argv))
    try:
        catalogue = Catalogue.load(args.catalogue)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    arch, warning = (args.arch, None) if args.arch else default_arch()
    client, why = _connect(args.docker_host)
    if args.command == "list":
        return _list(catalogue, client, why, arch, warning, args.standin_record, args.json)
    unknown = [name for name in args.names if catalogue.lookup(name) is None]
    for name in unknown:  # said before anything is made
        print(f"error: {catalogue.refusal(name)}", file=sys.stderr)
    if client is None:
        print(f"error: no Docker engine: {why}", file=sys.stderr)
        return 1
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return _prepare(catalogue, StandIns(client, args.standin_record), arch, args.names, args.json)


def _connect(docker_host: str | None) -> tuple[Any, str]:
    try:
        from ._docker import connect
    except ImportError as exc:
        return None, f"the Docker SDK is not installed ({exc})"
    return connect(docker_host)


def _say(name: str, line: str) -> None:
    print(f"{name}: {line}", flush=True)


def _prepare(
    catalogue: Catalogue, standins: StandIns, arch: str, names: list[str], as_json: bool
) -> int:
    failed = 0
    done: list[dict[str, Any]] = []
    for name in names:
        entry = catalogue.lookup(name)
        if entry is None:
            continue
        recipe, why = recipe_for(entry, arch)
        if recipe is None:
            print(f"error: {why}", file=sys.stderr)
            failed += 1
            continue
        started = time.monotonic()
        try:
            image = standins.provide(recipe, say=functools.partial(_say, name))
        except StandInError as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        took = time.monotonic() - started
        print(f"{name}: stand-in {recipe.tag} ({describe(image)}), ready [{took:.1f} s]")
        recorded = standins.recorded(recipe) or {}
        done.append(
            {
                "name": entry.onboard,
                "recipe": recipe.key,
                "id": image.id,
                "architecture": image.attrs.get("Architecture"),
                "seconds": round(took, 1),
                "made_in_seconds": recorded.get("seconds"),
            }
        )
    if as_json:
        print(json.dumps(done, indent=1))
    return 1 if failed else 0


def _engine_has(client: Any, entry: Entry, standins: StandIns, arch: str) -> dict[str, Any]:
    """What the engine has for `entry`: {"has": "image"|"stand-in"|"nothing", ...}."""
    from docker.errors import DockerException

    recipe, why = recipe_for(entry, arch)
    standin = None
    for each in (arch, *(other for other in ("arm64", "amd64") if other != arch)):
        candidate, _ = recipe_for(entry, each)
        standin = standins.find(candidate) if candidate is not None else None
        if standin is not None:
            break
    for ref in (entry.onboard, entry.ref):
        try:
            image = client.images.get(ref)
        except DockerException:
            continue
        if describe(image) is None:
            arch_of = image.attrs.get("Architecture") or "?"
            return {"has": "image", "id": image.id, "detail": f"{ref}, linux/{arch_of}"}
    if standin is not None and recipe is not None:
        return {"has": "stand-in", "id": standin.id, "detail": f"{describe(standin)}"}
    if recipe is not None:
        return {
            "has": "nothing",
            "detail": f"a stand-in from {recipe.made_from} (linux/{recipe.arch}) is made on "
            "first use, or now: images prepare " + entry.ref,
        }
    return {"has": "nothing", "detail": why}


def _list(
    catalogue: Catalogue,
    client: Any,
    why: str,
    arch: str,
    warning: str | None,
    record: Path | None,
    as_json: bool,
) -> int:
    standins = StandIns(client, record) if client is not None else None
    rows = []
    for entry in catalogue:
        if client is None or standins is None:
            has: dict[str, Any] = {"has": "nothing", "detail": f"no Docker engine: {why}"}
        else:
            has = _engine_has(client, entry, standins, arch)
        rows.append({"name": entry.onboard, "version": entry.version, **has})
    if as_json:
        doc = {"catalogue": catalogue.source, "standin_arch": arch, "images": rows}
        print(json.dumps(doc, indent=1))
        return 0
    print(f"{len(rows)} images in the onboard registry ({catalogue.source})")
    if client is not None:
        print(f"stand-ins for linux/{arch}" + (f" ({warning})" if warning else ""))
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        version = f" ({row['version']})" if row["version"] else ""
        name = (row["name"] + version).ljust(min(width + 12, 56))
        print(f"{name}  {row['has']:<8}  {row['detail']}")
    counts = {kind: sum(row["has"] == kind for row in rows) for kind in ("image", "stand-in")}
    print(
        f"{counts['image']} real images, {counts['stand-in']} stand-ins, "
        f"{len(rows) - sum(counts.values())} nothing yet"
    )
    return 0
