"""The root command group, its global options, and ``main()`` wrapped in the error table."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from . import (
    _emulator,
    _files,
    _images,
    _login,
    _logs,
    _nodes,
    _pods,
    _sync,
    _telemetry,
    _volumes,
)
from ._common import State, global_options, json_option
from ._debug import disable_logging
from ._errors import ExitCode, report
from ._notices import retry_notices
from ._signals import termination_as_interrupt, termination_code

PROG_NAME = "dphi-em"
COMPLETE_VAR = "_DPHI_EM_COMPLETE"

EPILOG = """\b
Global options may also follow the command (dphi-em ls --debug).
Credentials: options, else DPHI_EM_URL / DPHI_EM_USERNAME / DPHI_EM_PASSWORD, else the
config file written by 'dphi-em login --save'.

\b
Exit codes: 0 ok (also for a bare 'dphi-em' or 'dphi-em GROUP', which print their help),
1 API error, 2 bad input (nothing sent), 3 auth, 4 not found, 5 forbidden path, 6 busy,
7 build/load failed, 8 connection/timeout, 9 server error, 10 pod failed (run --wait,
status --watch: a non-zero exit code, or it cannot start), 11 wait timed out,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 129 hung up (SIGHUP).

\b
Shell completion (bash; zsh_source and fish_source for zsh and fish):
  eval "$(_DPHI_EM_COMPLETE=bash_source dphi-em)"
"""


class App(click.Group):
    """A group whose ``main`` maps every exception to one line and a stable exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # the order they were added in, not alphabetical

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> int:
        state = extra.pop("obj", None)
        if not isinstance(state, State):
            state = State()
        with retry_notices(state), termination_as_interrupt():
            try:
                result = super().main(
                    args,
                    prog_name or PROG_NAME,
                    complete_var or COMPLETE_VAR,
                    standalone_mode=False,
                    obj=state,
                    **extra,
                )
                code = result if isinstance(result, int) else int(ExitCode.OK)
            except click.exceptions.NoArgsIsHelpError as exc:
                # a bare 'dphi-em' or 'dphi-em image' asks for the help: shown as help, exit 0
                # (as kubectl, docker and gh do; git exits 1)
                click.echo(exc.ctx.get_help(), color=exc.ctx.color)
                code = int(ExitCode.OK)
            except BrokenPipeError:
                _silence_stdout()
                code = int(ExitCode.ERROR)
            except Exception as exc:
                code = report(
                    exc,
                    debug=state.debug,
                    redactor=state.redactor,
                    url=state.url_in_use,
                    as_json=state.json and not state.json_done,
                )
                code = termination_code(exc, code)  # click wraps an interrupt in Abort
            except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP (`_signals`)
                code = termination_code(
                    exc, report(exc, debug=False, redactor=state.redactor, as_json=state.json)
                )
            finally:
                if state.debug:
                    disable_logging()
        if standalone_mode:
            sys.exit(code)
        return code


def _silence_stdout() -> None:
    """After a closed pipe (``dphi-em ls | head``), stop Python's complaint at exit."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@click.group(
    cls=App,
    name=PROG_NAME,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@global_options()
@json_option
@click.version_option(package_name="dphi-em", prog_name=PROG_NAME)
def app() -> None:
    """Drive the DPhi Space CG2 EM from a shell: files, images, pods, nodes."""


for _module in (
    _login,
    _files,
    _sync,
    _images,
    _pods,
    _logs,
    _nodes,
    _volumes,
    _emulator,
    _telemetry,
):
    for _command in _module.COMMANDS:
        app.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``dphi-em`` console script.

    Args:
        argv: The arguments (default ``sys.argv[1:]``).

    Returns:
        The exit code (see `dphi_em.cli._errors`).
    """
    return app.main(argv, prog_name=PROG_NAME, standalone_mode=False)
