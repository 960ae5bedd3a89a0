"""Issue 12's CLI fixes that need no server: bare groups print their help, every command has
an example and ``--json``, retry lines, ``--at`` without microseconds, node kinds, image
names as built, IEC units in the bars."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Iterator

import click
import pytest
from dphi_em.cli import app
from dphi_em.cli._common import State
from dphi_em.cli._images import built_name, full_name
from dphi_em.cli._nodes import node_kind
from dphi_em.cli._notices import RetryNotices, retry_line, retry_notices
from dphi_em.cli._pods import parse_at
from dphi_em.cli._progress import progress_for
from support.cli import invoke


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*path, name))
        else:
            yield (*path, name)


ALL_COMMANDS = list(_commands(app))


@pytest.mark.parametrize("args", [(), ("image",), ("namespace",), ("volume",)])
def test_a_bare_group_prints_its_help_and_exits_0(args: tuple[str, ...]) -> None:
    result = invoke(*args)
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.startswith(f"Usage: dphi-em {' '.join(args)}".rstrip() + " [OPTIONS]")
    assert "\nCommands:\n" in result.stdout
    assert len(result.stdout.splitlines()) > 5  # the help as written, not one line
    assert result.stdout == invoke(*args, "--help").stdout


def test_the_exit_code_of_a_bare_group_is_documented() -> None:
    assert "0 ok (also for a bare 'dphi-em'" in " ".join(invoke("--help").stdout.split())


def test_the_command_list_covers_every_group() -> None:
    assert {"ls", "run", "logout", "image build", "image load", "image ls", "volume rm",
            "namespace create"} <= {" ".join(c) for c in ALL_COMMANDS}  # fmt: skip


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_has_an_example_and_takes_json(path: tuple[str, ...]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0
    text = result.stdout
    assert re.search(r"^  Examples?:\n    \S", text, re.MULTILINE), text
    example = text.split("Example", 1)[1]
    assert f"dphi-em {' '.join(path)}" in example
    assert "--json" in text


def test_json_is_accepted_before_and_after_a_group_command() -> None:
    # parsed (then the command fails for want of credentials, exit 3: nothing was sent)
    for args in (("image", "--json", "ls"), ("image", "ls", "--json"), ("--json", "rm", "x")):
        assert invoke(*args).exit_code == 3, args


def test_retry_lines() -> None:
    assert retry_line(3, "423 LOCKED", 1.5, 7) == "EM busy (423), retry 2/7 in 1.5 s"
    assert retry_line(2, "ConnectError", 0.234, 7) == (
        "EM unreachable (ConnectError), retry 1/7 in 0.2 s"
    )
    assert retry_line(2, "ReadError", 1.0, 3) == (
        "connection to the EM lost (ReadError), retry 1/3 in 1.0 s"
    )


def _retry_record(attempt: int) -> logging.LogRecord:
    logger = logging.getLogger("dphi_em")
    return logger.makeRecord(
        "dphi_em", logging.INFO, __file__, 1, "GET /em/files/list?token=s3cret: 423", (), None,
        extra={"retry_attempt": attempt, "retry_reason": "423 LOCKED", "retry_delay": 0.75},
    )  # fmt: skip


def test_retry_notices_print_the_fields_only_and_quiet_silences_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = State(max_retries=7)
    handler = RetryNotices(state)
    handler.handle(_retry_record(2))
    logging.getLogger("dphi_em").info("logged in as %r", "client1")  # not a retry: no line
    assert capsys.readouterr().err == "EM busy (423), retry 1/7 in 0.8 s\n"
    state.quiet = True
    handler.handle(_retry_record(3))
    assert capsys.readouterr().err == ""


def test_retry_notices_restore_the_logger() -> None:
    logger = logging.getLogger("dphi_em")
    before = (logger.level, list(logger.handlers))
    with retry_notices(State()) as handler:
        assert handler in logger.handlers
        assert logger.getEffectiveLevel() <= logging.INFO
    assert (logger.level, list(logger.handlers)) == before


def test_at_has_no_microseconds() -> None:
    now = dt.datetime(2026, 12, 2, 4, 17, 3, 985620, tzinfo=dt.timezone.utc)
    assert parse_at("+5m", now=now).isoformat() == "2026-12-02T04:22:03+00:00"


def test_node_kind_is_what_run_node_takes() -> None:
    run = app.commands["run"]
    node_param = next(p for p in run.params if p.name == "node")
    assert isinstance(node_param.type, click.Choice)
    kinds = set(node_param.type.choices)
    for name in ("fpga", "gpu", "mpu1", "MPU2"):
        assert node_kind(name) in kinds
    assert node_kind("tpu1") is None


def test_image_names_as_built() -> None:
    assert built_name("client1-echo-test", "client1") == "echo-test"
    assert built_name("client10-x", "client1") == "client10-x"
    assert built_name("client1-", "client1") == "client1-"
    assert full_name("echo-test", "client1") == "client1-echo-test"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bars_say_mib_not_mb(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    with progress_for(State(), "uplink") as progress:
        assert progress is not None
        progress(3 * 1024 * 1024, 6 * 1024 * 1024)
        bar = progress._bar  # type: ignore[attr-defined]
        bar.start_t -= 2.0  # 3 MiB in 2 s, whatever the clock says
        line = str(bar)
    assert "3.00 MiB/6.00 MiB" in line
    assert "1.50 MiB/s" in line
    assert not re.search(r"\d ?[kMG]B\b", line + stream.getvalue())


def test_bars_are_off_with_json_or_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", _Terminal())
    for state in (State(json=True), State(quiet=True)):
        with progress_for(state, "uplink") as progress:
            assert progress is None


def test_a_bare_wait_before_the_image_is_explained() -> None:
    result = invoke("run", "--wait", "my-image")  # nothing sent: no credentials needed
    assert result.exit_code == 2
    assert "write --wait=running, or put --wait after IMAGE" in result.stderr
    assert invoke("run", "x", "--wait=sometime").exit_code == 2
