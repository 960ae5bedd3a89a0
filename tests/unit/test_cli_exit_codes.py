"""The CLI's error table: every facade error class -> its exit code and one line."""

from __future__ import annotations

import click
import dphi_em
import httpx
import pytest
from dphi_em.cli._debug import Redactor
from dphi_em.cli._errors import CLIError, ConfigError, CredentialsError, ExitCode, classify, report


def _api(cls: type[dphi_em.APIError], status: int, code: str | None = None) -> dphi_em.APIError:
    return cls("the server said so", status_code=status, code=code)


CASES = [
    (_api(dphi_em.BuildFailedError, 400, "BUILD_FAILED"), ExitCode.BUILD_FAILED),
    (_api(dphi_em.ImageLoadFailedError, 400, "IMAGE_LOAD_FAILED"), ExitCode.BUILD_FAILED),
    (_api(dphi_em.BadRequestError, 400, "INVALID_PARAMETERS"), ExitCode.ERROR),
    (_api(dphi_em.NoFilesError, 400, "NO_FILES"), ExitCode.ERROR),
    (_api(dphi_em.UplinkTooLargeError, 400, "MAX_UPLINK_SIZE_EXCEEDED"), ExitCode.ERROR),
    (_api(dphi_em.AuthenticationError, 401), ExitCode.AUTH),
    (_api(dphi_em.ForbiddenPathError, 403, "ILLEGAL_PATH"), ExitCode.FORBIDDEN),
    (_api(dphi_em.NotFoundError, 404, "FILE_NOT_FOUND"), ExitCode.NOT_FOUND),
    (_api(dphi_em.BusyError, 423, "LOCKED"), ExitCode.BUSY),
    (_api(dphi_em.ServerError, 500), ExitCode.SERVER),
    (_api(dphi_em.ServerError, 503), ExitCode.SERVER),
    (_api(dphi_em.APIError, 418), ExitCode.ERROR),
    (dphi_em.ConnectionFailedError("refused"), ExitCode.CONNECTION),
    (dphi_em.RequestTimeoutError("read timeout"), ExitCode.CONNECTION),
    (dphi_em.IncompleteDownloadError("cut"), ExitCode.CONNECTION),
    (dphi_em.TransportError("broken"), ExitCode.CONNECTION),
    (dphi_em.PodFailedError("ImagePullBackOff", pod_name="p", state=None), ExitCode.POD),
    (dphi_em.WaitTimeoutError("not running", pod_name="p", state=None), ExitCode.WAIT_TIMEOUT),
    (dphi_em.ValidationError("bad"), ExitCode.USAGE),
    (dphi_em.FileTooLargeError("big"), ExitCode.USAGE),
    (dphi_em.LocalFileExistsError("exists"), ExitCode.USAGE),
    (dphi_em.ConfigurationError("bad url"), ExitCode.USAGE),
    (dphi_em.ClientClosedError("closed"), ExitCode.ERROR),
    (dphi_em.EMError("other"), ExitCode.ERROR),
    (ConfigError("loose file"), ExitCode.USAGE),
    (CredentialsError("no user"), ExitCode.AUTH),
    (CLIError("not there", ExitCode.NOT_FOUND), ExitCode.NOT_FOUND),
    (click.UsageError("bad option"), ExitCode.USAGE),
    (click.BadParameter("bad value"), ExitCode.USAGE),
    (httpx.ConnectError("raw refused"), ExitCode.CONNECTION),
    (httpx.ReadTimeout("raw timeout"), ExitCode.CONNECTION),
    (RuntimeError("bug"), ExitCode.ERROR),
]


@pytest.mark.parametrize(("exc", "code"), CASES, ids=lambda v: type(v).__name__)
def test_every_error_class_has_its_exit_code(exc: BaseException, code: ExitCode) -> None:
    assert classify(exc).exit_code == code
    lines: list[str] = []
    assert report(exc, echo=lines.append) == code
    assert len(lines) == 1
    assert lines[0].startswith("Error: ") or "Error: " in click.unstyle(lines[0])


def test_exit_codes_are_stable() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0, "ERROR": 1, "USAGE": 2, "AUTH": 3, "NOT_FOUND": 4, "FORBIDDEN": 5, "BUSY": 6,
        "BUILD_FAILED": 7, "CONNECTION": 8, "SERVER": 9, "POD": 10, "WAIT_TIMEOUT": 11,
        "DECLINED": 12, "INTERRUPTED": 130,
    }  # fmt: skip


def test_api_error_line_names_status_and_code() -> None:
    lines: list[str] = []
    report(_api(dphi_em.NotFoundError, 404, "FILE_NOT_FOUND"), echo=lines.append)
    assert click.unstyle(lines[0]) == "Error: the server said so [HTTP 404 FILE_NOT_FOUND]"


def test_build_failure_prints_the_log_tail_below_one_line() -> None:
    exc = dphi_em.BuildFailedError(
        "Docker image build failed",
        status_code=400,
        code="BUILD_FAILED",
        log_tail=["#1 load\n", "ERROR: failed to solve\n", "\n"],
    )
    lines: list[str] = []
    assert report(exc, echo=lines.append) == 7
    assert click.unstyle(lines[0]).startswith("Error: image build failed: Docker image build")
    tail = click.unstyle(lines[1]).splitlines()
    assert tail == ["--- log tail ---", "  #1 load", "  ERROR: failed to solve"]


def test_multi_line_messages_become_one_line() -> None:
    lines: list[str] = []
    report(dphi_em.EMError("first\nsecond\n  third"), echo=lines.append)
    assert click.unstyle(lines[0]) == "Error: first second third"


def test_debug_adds_a_redacted_traceback() -> None:
    redactor = Redactor(["hunter22"])
    try:
        raise dphi_em.EMError("login as bob with hunter22 failed")
    except dphi_em.EMError as exc:
        lines: list[str] = []
        report(exc, debug=True, redactor=redactor, echo=lines.append)
    text = "\n".join(lines)
    assert "Traceback (most recent call last)" in text
    assert "hunter22" not in text
    assert "[REDACTED]" in text


def test_connection_errors_name_the_url() -> None:
    lines: list[str] = []
    report(dphi_em.ConnectionFailedError("refused"), url="http://em:8000/", echo=lines.append)
    assert "http://em:8000/" in lines[0]


def test_interrupt_is_130() -> None:
    lines: list[str] = []
    assert report(KeyboardInterrupt(), echo=lines.append) == 130
    assert lines == ["Interrupted."]
