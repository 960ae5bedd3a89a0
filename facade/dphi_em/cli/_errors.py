"""Exit codes and the table that turns every exception into one friendly line.

Like huggingface_hub's ``cli/_errors.py``: one table from exception type to an exit code and
a short label, consulted in one place (:func:`report`) wrapped around the CLI's ``main()``.
Every failure prints a single ``Error: ...`` line on stderr (build and load failures add the
server's log tail below it); ``--debug`` adds the traceback, with secrets redacted.

The exit codes are part of the CLI's contract with scripts; they never change meaning:

====  ===============  ==========================================================================
code  name             when
====  ===============  ==========================================================================
0     OK               success
1     ERROR            any other API error (e.g. 400 from the server), or an unexpected failure
2     USAGE            bad command line or bad input, caught locally: nothing was sent (unknown
                       option or node, bad pod name, missing local file, naive ``--at`` time,
                       ``--env`` without ``=``, port out of range); a refused or unreadable
                       config file; a local file that would be overwritten
3     AUTH             missing or rejected credentials (401)
4     NOT_FOUND        the file, folder or pod does not exist (404)
5     FORBIDDEN        a path outside the volume (403)
6     BUSY             the EM stayed busy (423 LOCKED) through every retry
7     BUILD_FAILED     ``image build`` or ``image load`` failed (the log tail is printed)
8     CONNECTION       the EM could not be reached, or did not answer in time
9     SERVER           the EM failed (5xx)
10    POD              ``run --wait``, ``status --watch``: the pod failed (it ended with a non-zero
                       exit code, shown in the message) or cannot start (a waiting reason it does
                       not recover from: ``ImagePullBackOff``, ``ErrImagePull``, ...)
11    WAIT_TIMEOUT     ``run --wait``, ``status --watch --timeout``: the time ran out before the
                       pod reached the awaited state (the last state seen is in the message)
12    DECLINED         a confirmation was declined, or could not be asked (no answer on stdin):
                       nothing was changed; ``--yes`` confirms in advance
130   INTERRUPTED      Ctrl-C
====  ===============  ==========================================================================
"""

from __future__ import annotations

import enum
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from ._output import printable

if TYPE_CHECKING:
    from ._debug import Redactor


class ExitCode(enum.IntEnum):
    """The CLI's stable exit codes (see the module docstring)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    AUTH = 3
    NOT_FOUND = 4
    FORBIDDEN = 5
    BUSY = 6
    BUILD_FAILED = 7
    CONNECTION = 8
    SERVER = 9
    POD = 10
    WAIT_TIMEOUT = 11
    DECLINED = 12
    INTERRUPTED = 130


class CLIError(Exception):
    """A failure found by the CLI itself, with its exit code.

    Args:
        message: The one line shown after ``Error:``.
        exit_code: The exit code.
    """

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ConfigError(CLIError):
    """The config file is refused (too open) or cannot be read."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.USAGE)


class CredentialsError(CLIError):
    """No username or password could be found anywhere."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.AUTH)


def confirm(prompt: str, *, what: str) -> None:
    """Ask `prompt` (yes/no, default no) on stderr; return only on yes.

    Args:
        prompt: The question.
        what: What a no leaves undone, for the message ("nothing was deleted").

    Raises:
        CLIError: `DECLINED` (exit 12) on no, or when no answer can be read (stdin is not a
            terminal and holds none), with the hint to pass ``--yes``. Ctrl-C stays an
            interrupt (130).
    """
    try:
        answer = click.confirm(prompt, default=False, err=True)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise
        raise CLIError(
            f"no answer to {prompt!r} (stdin is not a terminal): {what}; pass --yes to confirm "
            "without being asked",
            ExitCode.DECLINED,
        ) from None
    if not answer:
        raise CLIError(
            f"declined: {what}; pass --yes to confirm without being asked", ExitCode.DECLINED
        )


@dataclass(frozen=True)
class Rule:
    """One row of the table: the exit code and label for an exception type."""

    exit_code: ExitCode
    label: str


def _facade_table() -> list[tuple[type[BaseException], Rule]]:
    """The facade's error classes, most specific first.

    Imported when an error is reported, never at start-up (``dphi_em._errors`` imports httpx).
    """
    from dphi_em import _errors as e

    return [
        (e.BuildFailedError, Rule(ExitCode.BUILD_FAILED, "image build failed")),
        (e.ImageLoadFailedError, Rule(ExitCode.BUILD_FAILED, "image load failed")),
        (e.AuthenticationError, Rule(ExitCode.AUTH, "authentication failed")),
        (e.ForbiddenPathError, Rule(ExitCode.FORBIDDEN, "")),
        (e.NotFoundError, Rule(ExitCode.NOT_FOUND, "")),
        (e.BusyError, Rule(ExitCode.BUSY, "the EM is busy")),
        (e.ServerError, Rule(ExitCode.SERVER, "server error")),
        (e.APIError, Rule(ExitCode.ERROR, "")),
        (e.TransportError, Rule(ExitCode.CONNECTION, "")),
        (e.PodFailedError, Rule(ExitCode.POD, "")),
        (e.RevisionError, Rule(ExitCode.USAGE, "not on this EM")),
        (e.WaitTimeoutError, Rule(ExitCode.WAIT_TIMEOUT, "")),
        (e.ValidationError, Rule(ExitCode.USAGE, "")),
        (e.LocalFileExistsError, Rule(ExitCode.USAGE, "")),
        (e.ConfigurationError, Rule(ExitCode.USAGE, "")),
        (e.EMError, Rule(ExitCode.ERROR, "")),
    ]


def _by_status(exc: BaseException) -> Rule | None:
    """A fallback on the HTTP status and server error code an API error carries."""
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "code", None)
    if not isinstance(status, int):
        return None
    if code == "BUILD_FAILED":
        return Rule(ExitCode.BUILD_FAILED, "image build failed")
    if code == "IMAGE_LOAD_FAILED":
        return Rule(ExitCode.BUILD_FAILED, "image load failed")
    fixed = {
        401: Rule(ExitCode.AUTH, "authentication failed"),
        403: Rule(ExitCode.FORBIDDEN, ""),
        404: Rule(ExitCode.NOT_FOUND, ""),
        423: Rule(ExitCode.BUSY, "the EM is busy"),
    }
    if status in fixed:
        return fixed[status]
    if status >= 500:
        return Rule(ExitCode.SERVER, "server error")
    return Rule(ExitCode.ERROR, "")


def _builtin_rule(exc: BaseException) -> Rule | None:
    """Rules for exceptions that do not come from the facade."""
    if isinstance(exc, FileExistsError):
        return Rule(ExitCode.USAGE, "file exists")
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
        return Rule(ExitCode.USAGE, "local file")
    if isinstance(exc, PermissionError):
        return Rule(ExitCode.USAGE, "permission denied")
    httpx_rule = _httpx_rule(exc)
    if httpx_rule is not None:
        return httpx_rule
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return Rule(ExitCode.CONNECTION, "cannot reach the EM")
    return None


def _httpx_rule(exc: BaseException) -> Rule | None:
    httpx = sys.modules.get("httpx")  # only if it was ever imported
    if httpx is None:
        return None
    if isinstance(exc, httpx.TimeoutException):
        return Rule(ExitCode.CONNECTION, "timed out")
    if isinstance(exc, httpx.TransportError):
        return Rule(ExitCode.CONNECTION, "cannot reach the EM")
    return None


def classify(exc: BaseException) -> Rule:
    """The exit code and label for ``exc`` (the table first, then fallbacks)."""
    if isinstance(exc, CLIError):
        return Rule(exc.exit_code, "")
    if isinstance(exc, click.UsageError):
        return Rule(ExitCode.USAGE, "")
    for cls, rule in _facade_table():
        if isinstance(exc, cls):
            return rule
    return _by_status(exc) or _builtin_rule(exc) or Rule(ExitCode.ERROR, "unexpected error")


def _message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    if not isinstance(message, str) or not message:
        message = str(exc) or type(exc).__name__
    return printable(" ".join(message.split()))  # one line, whatever the server sent


def _log_tail(exc: BaseException) -> Sequence[str]:
    tail = getattr(exc, "log_tail", None)
    if isinstance(tail, (list, tuple)):
        return [str(line) for line in tail]
    return []


def one_line(exc: BaseException) -> str:
    """The single line shown for ``exc`` (without the ``Error:`` prefix)."""
    if isinstance(exc, click.UsageError):
        line = " ".join(exc.format_message().split())
        ctx = exc.ctx
        if ctx is not None:
            line += f" (see '{ctx.command_path} --help')"
        return line
    rule = classify(exc)
    line = _message(exc)
    if rule.label and not line.lower().startswith(rule.label.lower()):
        line = f"{rule.label}: {line}"
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        code = getattr(exc, "code", None)
        line += f" [HTTP {status}{' ' + code if isinstance(code, str) and code else ''}]"
    return line


def report(
    exc: BaseException,
    *,
    debug: bool = False,
    redactor: Redactor | None = None,
    url: str | None = None,
    echo: Callable[[str], None] | None = None,
    as_json: bool = False,
) -> int:
    """Print ``exc`` as one line on stderr (plus the log tail, plus the traceback when
    debugging) and return its exit code.

    Args:
        exc: The exception that ended the command.
        debug: Also print the traceback.
        redactor: Removes secrets from everything printed.
        url: The EM's address, named in connection errors.
        echo: Where lines go (stderr by default).
        as_json: Also print one JSON object on stdout (``--json``):
            ``{"error": {"type", "message", "status_code", "code", "log_tail"},
            "exit_code": N}``.

    Returns:
        The exit code for ``exc``.
    """

    def clean(text: str) -> str:
        return redactor.redact(text) if redactor is not None else text

    def default_echo(line: str) -> None:
        click.echo(line, err=True)

    out = echo or default_echo
    if isinstance(exc, KeyboardInterrupt) or (
        isinstance(exc, click.Abort) and isinstance(exc.__context__, KeyboardInterrupt)
    ):
        out(clean("Interrupted."))
        _json_error(as_json, "Interrupted", "interrupted", ExitCode.INTERRUPTED, exc, clean)
        return int(ExitCode.INTERRUPTED)
    if isinstance(exc, click.Abort):
        out("Aborted.")
        _json_error(as_json, "Aborted", "aborted", ExitCode.INTERRUPTED, exc, clean)
        return int(ExitCode.INTERRUPTED)
    if debug:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        out(clean(tb.rstrip("\n")))
    rule = classify(exc)
    line = one_line(exc)
    if rule.exit_code == ExitCode.CONNECTION and url and url not in line:
        line += f" (EM at {url})"
    out(clean(click.style("Error: ", fg="red", bold=True) + line))
    tail = _log_tail(exc)
    if tail:
        out(clean(_format_tail(tail)))
    _json_error(as_json, type(exc).__name__, line, rule.exit_code, exc, clean)
    return int(rule.exit_code)


def _json_error(
    as_json: bool,
    kind: str,
    line: str,
    code: ExitCode,
    exc: BaseException,
    clean: Callable[[str], str],
) -> None:
    """With ``--json``: the error as one JSON object on stdout, for scripts."""
    if not as_json:
        return
    import json

    click.echo(json.dumps(error_document(exc, clean=clean, kind=kind, line=line, code=code)))


def error_document(
    exc: BaseException,
    *,
    clean: Callable[[str], str] = str,
    kind: str | None = None,
    line: str | None = None,
    code: ExitCode | None = None,
) -> dict[str, object]:
    """``{"error": {...}, "exit_code": N}`` for ``exc``: what ``--json`` prints on a failure
    (a command that prints its own document on failure adds these two keys to it)."""
    status = getattr(exc, "status_code", None)
    server_code = getattr(exc, "code", None)
    error = {
        "type": kind or type(exc).__name__,
        "message": clean(line if line is not None else one_line(exc)),
        "status_code": status if isinstance(status, int) else None,
        "code": server_code if isinstance(server_code, str) else None,
        "log_tail": [clean(item) for item in _log_tail(exc)],
    }
    exit_code = code if code is not None else classify(exc).exit_code
    return {"error": error, "exit_code": int(exit_code)}


def _format_tail(lines: Iterable[str]) -> str:
    body = [printable(line.rstrip("\r\n")) for line in lines]
    while body and not body[-1].strip():
        body.pop()
    header = click.style("--- log tail ---", dim=True)
    return "\n".join([header, *("  " + line for line in body)])
