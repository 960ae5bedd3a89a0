"""``--debug``: the HTTP exchange and tracebacks on stderr, secrets redacted.

Requests and responses are shown through httpx event hooks (method, URL, status and headers;
never bodies, which carry passwords and tokens), and the facade's log records (logins, token
refreshes, retries) through the ``dphi_em`` logger. Everything
printed goes through a :class:`Redactor` that removes the ``Authorization`` value, anything
shaped like a JWT, the password itself, and the session's own tokens (opaque or not).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import click

REDACTED = "[REDACTED]"

#: Header names whose values are never shown.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[^\s'\",;]+")
#: ``"password": "..."``, ``password=...``, ``"access": "..."`` in JSON, forms and queries.
_KEY_VALUE = re.compile(
    r"(?i)((?<![\w.])[\"']?(?:password|access|refresh|token|access_token|refresh_token)[\"']?"
    r"\s*[:=]\s*)([\"']?)[^\s\"',&}]+"
)


class Redactor:
    """Removes known secrets and secret-shaped strings from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._sources: list[Callable[[], Iterable[str]]] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Redact ``secret`` from now on (ignored when empty or very short)."""
        if secret and len(secret) >= 3:
            self._secrets.add(secret)

    def add_source(self, source: Callable[[], Iterable[str]]) -> None:
        """Also redact what ``source()`` lists at each call (e.g. ``TokenAuth.secrets``: the
        session's live tokens, opaque or not, as they are renewed)."""
        self._sources.append(source)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``[REDACTED]``."""
        secrets = set(self._secrets)
        for source in self._sources:
            secrets.update(secret for secret in source() if secret and len(secret) >= 3)
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        text = _JWT.sub(REDACTED, text)
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
        return _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)

    def headers(self, headers: Mapping[str, str]) -> list[str]:
        """``name: value`` lines with secret headers' values hidden."""
        lines = []
        for name, value in headers.items():
            shown = REDACTED if name.lower() in SECRET_HEADERS else self.redact(value)
            lines.append(f"{name}: {shown}")
        return lines


class _RedactingFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__("debug: %(name)s: %(message)s")
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self._redactor.redact(super().format(record))


class _StderrHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(self.format(record), err=True)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


_HANDLER_NAME = "dphi-em-cli-debug"
_LOGGERS = ("dphi_em",)
_saved_levels: dict[str, int] = {}


def enable_logging(redactor: Redactor) -> None:
    """Send the facade's log records to stderr, redacted (the hooks show the HTTP exchange)."""
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(_RedactingFormatter(redactor))
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
            logger.removeHandler(old)
        _saved_levels.setdefault(name, logger.level)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)


def disable_logging() -> None:
    """Undo :func:`enable_logging` (tests run many commands in one process)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
            logger.removeHandler(old)
        logger.setLevel(_saved_levels.pop(name, logging.NOTSET))


def redact_client_secrets(http_client: Any, redactor: Redactor) -> None:
    """Make the tokens of ``http_client``'s auth (``TokenAuth.secrets``) a source of
    ``redactor``, when it has one: hidden in everything printed, ``--debug`` or not."""
    secrets = getattr(http_client.auth, "secrets", None)
    if callable(secrets):
        redactor.add_source(secrets)


def install_hooks(http_client: Any, redactor: Redactor) -> None:
    """Show each request and response of ``http_client`` (an ``httpx.Client``) on stderr.

    The client's auth, when it knows its secrets (``TokenAuth.secrets``), becomes a source
    of ``redactor``: the session's own tokens are hidden wherever a server echoes them.
    """
    redact_client_secrets(http_client, redactor)

    def on_request(request: Any) -> None:
        lines = [f"> {request.method} {redactor.redact(str(request.url))}"]
        lines += ["> " + line for line in redactor.headers(request.headers)]
        click.echo("\n".join(lines), err=True)

    def on_response(response: Any) -> None:
        request = response.request
        lines = [
            f"< {response.status_code} {response.reason_phrase} "
            f"({request.method} {redactor.redact(str(request.url.path))})"
        ]
        lines += ["< " + line for line in redactor.headers(response.headers)]
        click.echo("\n".join(lines), err=True)

    hooks = http_client.event_hooks
    hooks.setdefault("request", []).append(on_request)
    hooks.setdefault("response", []).append(on_response)
    http_client.event_hooks = hooks
