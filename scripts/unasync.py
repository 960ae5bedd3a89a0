"""Generate the sync twins of the hand-written async code (httpcore's approach).

The asyncio code is written once; each source of `PAIRS` becomes its sync twin by the token
replacements of `SUBS` (applied line by line, whole words only), then ruff sorts the imports,
drops the ones the sync side does not use, and formats the result. The pairs: every module of
`facade/dphi_em/_async/` -> `_sync/`, and the telemetry client `telemetry/_async_client.py` ->
`telemetry/_client.py`. What has no token twin is a pair of hand-written primitives in
`dphi_em._synchronization` (the request gate, the renewal lock, body streams) or in the shared
modules (`_timing.asleep` / `sleep`, `_download.afeed_download` / `feed_download`, the two
network transports, `telemetry._core.run_in_thread` / `run_here`).

    python scripts/unasync.py          write the sync twins
    python scripts/unasync.py --check  exit 1, naming the first differing line, when a twin
                                       differs from what the script makes (`make check`)

`--package` points it at another copy of `facade/dphi_em` (its tests use one). Every
replacement must be used at least once, so that a stale entry fails loudly.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "facade" / "dphi_em"

#: (async source, sync target), relative to the package: a folder (its modules but
#: `__init__.py`, one for one; a module there that the script does not make fails the check)
#: or a single module.
PAIRS: list[tuple[str, str]] = [
    ("_async", "_sync"),
    ("telemetry/_async_client.py", "telemetry/_client.py"),
]

#: (regular expression, replacement), applied in order to every line.
SUBS: list[tuple[str, str]] = [
    # httpx and httpcore names whose twin is not the name without "Async"
    (r"httpx\.AsyncByteStream", "httpx.SyncByteStream"),
    (r"StopAsyncIteration", "StopIteration"),
    # Async<Name> -> <Name>: our classes, httpx's and httpcore's, typing's
    (r"\bAsync(?=[A-Z])", ""),
    (r"\b_Async(?=[A-Z])", "_"),
    # the syntax
    (r"\basync def\b", "def"),
    (r"\basync for\b", "for"),
    (r"\basync with\b", "with"),
    (r"\bawait ", ""),
    (r"\bAwaitable\[([\w.]+)\]", r"\1"),
    (r"\bCoroutine\[Any, Any, ([\w.]+)\]", r"\1"),
    # the protocols' method names
    (r"\bhandle_async_request\b", "handle_request"),
    (r"\baclose\b", "close"),
    (r"\baread\b", "read"),
    (r"\baiter_bytes\b", "iter_bytes"),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\basend\b", "send"),
    # the paired primitives (`_synchronization`, `_timing`, `_download`, `_transports`)
    (r"\basleep\b", "sleep"),
    (r"\bas_async_stream\b", "as_sync_stream"),
    (r"\bafeed_download\b", "feed_download"),
    (r"\basync_network_transport\b", "network_transport"),
    (r"\basync_raw_client\b", "sync_raw_client"),
    (r"\basync_bearer\b", "sync_bearer"),
    (r"\basync_in_thread\b", "sync_in_thread"),
    (r"\balogin\b", "login"),
    (r"\brun_in_thread\b", "run_here"),
    # the generated client's call names, and words of the docstrings
    (r"`asyncio`", "`sync`"),
    (r"\basyncio_detailed\b", "sync_detailed"),
    (r" \(asyncio\)", ""),
    (r" for asyncio\b", " (synchronous)"),
    # a module outside _async/ importing from it (the telemetry client)
    (r"\.\._async\.", ".._sync."),
    (r"\btasks\b", "threads"),
    (r"\btask\b", "thread"),
]
COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in SUBS]

HEADER = "# Generated from {source} by scripts/unasync.py: edit that file, not this one.\n"


def unasync_text(text: str, used: set[int]) -> str:
    """`text` with every replacement applied; the indexes of those that matched go to `used`."""
    lines = []
    for line in text.splitlines(keepends=True):
        for index, (pattern, replacement) in enumerate(COMPILED):
            line, count = pattern.subn(replacement, line)
            if count:
                used.add(index)
        lines.append(line)
    return "".join(lines)


def _ruff(args: list[str], text: str, filename: Path) -> str:
    """`text` passed through `ruff <args>` as if it were `filename` (its settings apply)."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(filename), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"ruff {' '.join(args)} failed on {filename}:\n{done.stderr}")
    return done.stdout


def generate(source: Path, target: Path, label: str, used: set[int]) -> str:
    """The text of `target`, the sync twin of `source` (named `label` in its header)."""
    text = unasync_text(source.read_text(encoding="utf-8"), used)
    if text.startswith('"""'):  # after the module docstring, before the code
        end = text.index('"""', 3) + 3
        text = text[:end] + "\n\n" + HEADER.format(source=label) + text[end:]
    text = _ruff(["check", "--fix", "--quiet", "--select", "F401,I", "--exit-zero"], text, target)
    return _ruff(["format", "--quiet"], text, target)


def _sources(package: Path) -> list[tuple[Path, Path, Path | None]]:
    """(source, target, the target's folder when made one for one from a folder, else None)."""
    found: list[tuple[Path, Path, Path | None]] = []
    for source, target in PAIRS:
        if (package / source).is_dir():
            found += [
                (path, package / target / path.name, package / target)
                for path in sorted((package / source).glob("*.py"))
                if path.name != "__init__.py"
            ]
        else:
            found.append((package / source, package / target, None))
    return found


def expected(package: Path) -> dict[Path, str]:
    """Every twin the script makes in `package`, and its text."""
    used: set[int] = set()
    files = {
        # ruff reads the project's settings as for the real file, wherever `package` is
        target: generate(
            source,
            PACKAGE / target.relative_to(package),
            source.relative_to(package).as_posix(),
            used,
        )
        for source, target, _ in _sources(package)
    }
    unused = [SUBS[index] for index in range(len(SUBS)) if index not in used]
    if unused:
        raise SystemExit(f"replacements never used (remove them): {unused}")
    return files


def _present(package: Path) -> set[Path]:
    """The modules now in the target folders, and the single targets that exist."""
    present: set[Path] = set()
    for _, target, folder in _sources(package):
        if folder is not None:
            present |= {path for path in folder.glob("*.py") if path.name != "__init__.py"}
        elif target.exists():
            present.add(target)
    return present


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    parser.add_argument("--package", type=Path, default=PACKAGE, help="a copy of facade/dphi_em")
    args = parser.parse_args(argv)
    wanted = expected(args.package)
    present = _present(args.package)
    if args.check:
        failed = False
        for path in sorted(present - set(wanted)):
            print(f"{path}: not made by scripts/unasync.py (remove it)")
            failed = True
        for path, text in wanted.items():
            actual = path.read_text(encoding="utf-8") if path.exists() else ""
            if actual != text:
                diff = difflib.unified_diff(
                    actual.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    str(path),
                    "made by scripts/unasync.py",
                    n=1,
                )
                sys.stdout.writelines(diff)
                failed = True
        if failed:
            print("a sync twin differs from its source: run `python scripts/unasync.py`.")
            return 1
        return 0
    for path in sorted(present - set(wanted)):
        path.unlink()
    for path, text in wanted.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
