"""``emulator``: start the local EM emulator, or ``emulator images list|prepare`` for the
onboard registry's base images and their offline stand-ins (needs the ``emulator`` extra)."""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from ._common import command, get_state
from ._config import ENV_PASSWORD, ENV_USERNAME
from ._errors import CLIError, ExitCode

#: What a throwaway data dir's emulator does at exit: remove its pods and every image it
#: built, loaded or tagged in the Docker engine (the emulator's `--on-stop purge`).
THROWAWAY_ON_STOP_OPTION = "--on-stop"
THROWAWAY_ON_STOP = "purge"


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


#: The options this command sets itself (listed in its own help).
_OWN = ("--host", "--port", "--data-dir", "--user", "-h, --help")


def _emulator_options() -> str | None:
    """The emulator's own options, as its ``--help`` lists them (None: not installed)."""
    try:
        build_parser = importlib.import_module("dphi_em_emulator._cli").build_parser
    except ImportError:
        return None
    text: str = build_parser().format_help()
    _, found, options = text.partition("\noptions:\n")
    if not found:
        return None
    kept: list[str] = []
    skipping = False
    for line in options.splitlines():
        if line.startswith("  ") and not line.startswith("   "):  # an option's first line
            skipping = line.strip().startswith(_OWN)
        if not skipping:
            kept.append(line)
    return "\n".join(kept).rstrip()


class _EmulatorCommand(click.Command):
    """``dphi-em emulator``: its help also lists the emulator's options (given after --)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `emulator images ...` belongs to the emulator's images command whole, its own
        # `--help` included: click would otherwise take `--help` (an eager option) for ours.
        if args[:1] == ["images"]:
            args = ["--", *args]
        return super().parse_args(ctx, args)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        options = _emulator_options()
        formatter.write_paragraph()
        if options is None:
            formatter.write_text(
                "The emulator's own options are listed once it is installed: "
                "pip install 'dphi-em[emulator]'."
            )
            return
        with formatter.section("Emulator options (after --)"):
            formatter.write(options + "\n")


@command("emulator", cls=_EmulatorCommand)
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
    help="Where volumes, images and pods are kept [default: a temporary folder, deleted at "
    "exit with the pods and images the emulator made in a Docker engine].",
)
@click.option(
    "--user",
    "users",
    multiple=True,
    metavar="U:P",
    callback=_check_users,
    help="A user and password the emulator accepts (repeatable) [default: "
    "DPHI_EM_USERNAME:DPHI_EM_PASSWORD].",
)
@click.argument("extra", nargs=-1, type=click.UNPROCESSED, metavar="[-- EMULATOR OPTIONS]")
@click.pass_context
def emulator(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    users: tuple[str, ...],
    extra: tuple[str, ...],
) -> None:
    """Start a local EM emulator over HTTP (Ctrl-C stops it).

    Options after -- go to the emulator as they are (--json is ignored: it prints a banner).
    'dphi-em emulator images list' shows the onboard registry's base images and what the
    Docker engine has for each; 'dphi-em emulator images prepare NAME...' makes their
    offline stand-ins ahead of time (neither needs a running emulator).

    \b
    Examples:
      dphi-em emulator --user client1:secret -- --time-scale 60 --no-lock
      dphi-em emulator images prepare python:3.12-alpine busybox:latest
    """
    try:
        emulator_main: Callable[[list[str]], int] = importlib.import_module(
            "dphi_em_emulator.__main__"
        ).main
    except ImportError as exc:
        raise CLIError(
            f"the emulator is not installed ({exc}): pip install 'dphi-em[emulator]'",
            ExitCode.USAGE,
        ) from None
    if extra[:1] == ("images",):  # the onboard registry's images: no emulator is started
        wanted = [*extra, "--json"] if get_state().json and extra[1:2] == ("list",) else extra
        ctx.exit(emulator_main(list(wanted)))
    if "-h" in extra or "--help" in extra:  # the emulator's own help: no user needed
        click.echo(ctx.get_help())
        ctx.exit(0)
    # accounts the emulator reads itself (--users-file, DPHI_EM_USERS): no --user needed
    own_accounts = bool(os.environ.get("DPHI_EM_USERS")) or any(
        word == "--users-file" or word.startswith("--users-file=") for word in extra
    )
    if not users and not own_accounts:
        name, password = os.environ.get(ENV_USERNAME), os.environ.get(ENV_PASSWORD)
        if not name or not password:
            raise click.UsageError(
                f"give at least one --user USER:PASSWORD (or set {ENV_USERNAME} and "
                f"{ENV_PASSWORD})",
                ctx=ctx,
            )
        users = (f"{name}:{password}",)
    argv: list[str] = []
    if host is not None:
        argv += ["--host", host]
    if port is not None:
        argv += ["--port", str(port)]
    for user in users:
        argv += ["--user", user]
    if data_dir is not None:
        ctx.exit(emulator_main([*argv, *extra, "--data-dir", str(data_dir)]))
    # A throwaway data dir: nothing it names may outlive it, so the images the emulator built,
    # loaded or tagged in a Docker engine go with it (an --on-stop after -- still wins: the
    # last one given counts).
    argv += [THROWAWAY_ON_STOP_OPTION, THROWAWAY_ON_STOP, *extra]
    with tempfile.TemporaryDirectory(prefix="dphi-em-emulator-") as tmp, _term_as_interrupt():
        code = emulator_main([*argv, "--data-dir", tmp])
    ctx.exit(code)


@contextlib.contextmanager
def _term_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C, so that the temporary data dir is removed either way."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except (ValueError, OSError):  # not the main thread, or no SIGTERM here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# `emulator images prepare --arch arm64 NAME`: the images command's own options pass through
emulator.context_settings["ignore_unknown_options"] = True
COMMANDS = [emulator]
