"""The test matrix: the unit and spec suites on every Python the project claims (3.10 to 3.13).

    .venv/bin/nox                 # every session below
    .venv/bin/nox -s tests-3.12   # one interpreter
    make matrix                   # the same, installing nox first

The whole suite (emulator, end-to-end, faults: a Docker engine and ~7 minutes) runs on one
interpreter only, 3.11, which is `make test`; it is not repeated here.

Interpreters: nox looks for `python3.X` on PATH. On machines with pyenv, its versions
(`$PYENV_ROOT/versions/3.X.*/bin`) are put first on PATH, so that nox finds them even where
pyenv's shims answer `python3.X` with "command not found" (a version not selected).
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True


def _pyenv_bins() -> list[str]:
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = []
    for version in PYTHONS:
        # the newest patch release of each minor version
        candidates = sorted(
            root.glob(f"{version}.*/bin"),
            key=lambda p: tuple(int(x) for x in p.parent.name.split(".") if x.isdigit()),
        )
        if candidates and (candidates[-1] / f"python{version}").exists():
            found.append(str(candidates[-1]))
    return found


os.environ["PATH"] = os.pathsep.join([*_pyenv_bins(), os.environ.get("PATH", "")])


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The unit and spec suites (no Docker engine, no emulator process)."""
    # openapi/node_modules: the spec suite runs the pipeline (swagger2openapi, npm, pinned)
    session.run("make", "openapi/node_modules/.installed", external=True)
    session.install("-e", ".[dev]")
    session.run(
        "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/unit",
        "tests/spec",
        *session.posargs,
    )
