"""``emulator``: start the local EM emulator (needs the ``emulator`` extra)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import click

from ._common import command
from ._errors import CLIError, ExitCode


def _check_users(
    _ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    for value in values:
        name, sep, password = value.partition(":")
        if not sep or not name or not password:
            raise click.BadParameter(
                f"{value.split(':', 1)[0]!r}...: use USER:PASSWORD", param=param
            )
    return values


@command("emulator")
@click.option("--host", metavar="HOST", help="Address to listen on [default: 127.0.0.1].")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Port to listen on (0: any free port) [default: 8000].",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Where volumes, images and pods are kept [default: a temporary folder].",
)
@click.option(
    "--user",
    "users",
    multiple=True,
    metavar="U:P",
    callback=_check_users,
    help="A user and password the emulator accepts (repeatable).",
)
@click.pass_context
def emulator(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    users: tuple[str, ...],
) -> None:
    """Start a local EM emulator over HTTP (Ctrl-C stops it)."""
    try:
        emulator_main: Callable[[list[str]], int] = importlib.import_module(
            "dphi_em_emulator.__main__"
        ).main
    except ImportError as exc:
        raise CLIError(
            f"the emulator is not installed ({exc}): pip install 'dphi-em[emulator]'",
            ExitCode.USAGE,
        ) from None
    argv: list[str] = []
    if host is not None:
        argv += ["--host", host]
    if port is not None:
        argv += ["--port", str(port)]
    if data_dir is not None:
        argv += ["--data-dir", str(data_dir)]
    for user in users:
        argv += ["--user", user]
    ctx.exit(emulator_main(argv))


COMMANDS = [emulator]
