"""Running `dphi-em` in-process (click's `CliRunner`) and reading what it printed.

```python
result = invoke("ls", "--pod", "p1", env={"DPHI_EM_URL": url, ...})
cli = runner_for(server.url, "client1", "secret")    # the environment set once
assert one_error_line(cli("rm", "missing")).startswith("Error: ")
```
The `cli` fixture (tests/e2e/conftest.py) is `runner_for` the session emulator's first user.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from click.testing import CliRunner, Result
from dphi_em.cli import app

__all__ = ["Runner", "error_lines", "invoke", "one_error_line", "runner_for"]

#: `runner(*args, input=None, extra_env=None) -> Result`.
Runner = Callable[..., Result]


def invoke(*args: str, env: Mapping[str, str] | None = None, input: str | None = None) -> Result:
    """`dphi-em ARGS` in-process; an unexpected exception propagates (not caught by click)."""
    return CliRunner().invoke(
        app, list(args), env=dict(env or {}), input=input, catch_exceptions=False
    )


def runner_for(url: str, username: str, password: str | None) -> Runner:
    """A `runner(*args, input=None, extra_env=None)` with `DPHI_EM_URL`, `DPHI_EM_USERNAME`
    and (unless None) `DPHI_EM_PASSWORD` set."""
    env = {"DPHI_EM_URL": url, "DPHI_EM_USERNAME": username}
    if password is not None:
        env["DPHI_EM_PASSWORD"] = password

    def run(
        *args: str, input: str | None = None, extra_env: Mapping[str, str] | None = None
    ) -> Result:
        return invoke(*args, env={**env, **(extra_env or {})}, input=input)

    return run


def error_lines(result: Result) -> list[str]:
    """The lines of stderr that start with `Error: `."""
    return [line for line in result.stderr.splitlines() if line.startswith("Error: ")]


def one_error_line(result: Result, *, alone: bool = True) -> str:
    """The one `Error: ` line on stderr, asserting there is exactly one; with `alone`
    (the default) also that stderr holds nothing else (no traceback, no second line)."""
    if alone:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("Error: "), result.stderr
        return lines[0]
    found = error_lines(result)
    assert len(found) == 1, result.stderr
    return found[0]
