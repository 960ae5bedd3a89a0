"""Checks of the arguments users pass, before anything is sent.

Each function returns the value to send (normalised: a node name upper-cased, a time parsed,
env values as strings) or raises `ValidationError` naming the bad value and what is allowed.
The CLI calls the same functions on its options, so that both refuse the same input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from dateutil import parser as dateparser

from ._errors import ValidationError
from ._settings import ENV_NAME_RULE, NODES, POD_NAME_RULE, env_name_ok, pod_name_ok

__all__ = [
    "NODES",
    "check_args",
    "check_command",
    "check_envs",
    "check_image_name",
    "check_image_ref",
    "check_max_duration",
    "check_node",
    "check_ports",
    "check_scheduled_time",
    "require_str",
    "validate_pod_name",
]


#: Docker's reference grammar (distribution/reference): lowercase path components joined by
#: `.`, `_`, `__` or dashes, an optional tag, an optional digest; a registry host first.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_PATH = rf"{_COMPONENT}(?:/{_COMPONENT})*"
_IMAGE_NAME = re.compile(rf"{_PATH}(?::{_TAG})?")
_IMAGE_REF = re.compile(rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH}(?::{_TAG})?(?:@sha256:[0-9a-f]{{64}})?")
IMAGE_NAME_RULE = (
    "lowercase letters and digits, separated by '.', '_', '__' or '-' (and '/' between "
    "parts), with an optional ':tag'"
)


def check_image_name(value: Any, what: str = "image") -> str:
    """An image name to build or load as (Docker's rule, no registry host).

    Raises:
        ValidationError: Not a string, or not a valid name (e.g. `Bad_Name`).
    """
    name = require_str(what, value)
    if len(name) > 255 or not _IMAGE_NAME.fullmatch(name):
        raise ValidationError(f"Invalid {what} name {name!r}: use {IMAGE_NAME_RULE}.")
    return name


def check_image_ref(value: Any, what: str = "image") -> str:
    """An image to run: a name of the user's, or a public reference (`host:port/name:tag`).

    Raises:
        ValidationError: Not a string, or not a valid Docker reference.
    """
    ref = require_str(what, value)
    if len(ref) > 512 or not _IMAGE_REF.fullmatch(ref):
        raise ValidationError(
            f"Invalid {what} {ref!r}: use {IMAGE_NAME_RULE}, after an optional "
            "'registry-host[:port]/'."
        )
    return ref


def validate_pod_name(pod_name: str | None) -> str | None:
    """Check a pod name; None or "" mean the default pod and volume (returned as None).

    Raises:
        ValidationError: Not a valid name; the message names the value and the rule.
    """
    if pod_name is None or pod_name == "":
        return None
    if not isinstance(pod_name, str):
        raise ValidationError(f"pod_name must be a string, not {type(pod_name).__name__}")
    if not pod_name_ok(pod_name):
        raise ValidationError(f"Invalid pod_name {pod_name!r}: use {POD_NAME_RULE}.")
    return pod_name


def require_str(name: str, value: Any, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value):
        raise ValidationError(f"{name} must be a non-empty string, got {value!r}.")
    return value


def check_node(node: str) -> str:
    upper = node.upper() if isinstance(node, str) else None
    if upper not in NODES:
        names = ", ".join(NODES)
        raise ValidationError(f"Invalid node {node!r}: use one of {names} (any case).")
    return upper


def check_command(command: str | None) -> str | None:
    if command is None or command == "":
        return None
    return require_str("command", command)


def check_scheduled_time(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            parsed = dateparser.isoparse(value)
        except (ValueError, OverflowError) as exc:
            raise ValidationError(
                f"Invalid scheduled_time {value!r}: not ISO 8601 ({exc})."
            ) from None
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise ValidationError(f"scheduled_time must be a datetime or a string, got {value!r}.")
    if parsed.tzinfo is None or parsed.tzinfo.utcoffset(parsed) is None:
        raise ValidationError(
            f"Invalid scheduled_time {value!r}: give a time zone "
            "(e.g. 2025-05-22T12:10:00+02:00 or an aware datetime)."
        )
    return parsed


def _as_list(
    name: str, value: object, what: str, item_ok: Callable[[object], bool] | None = None
) -> list[Any]:
    """`value` as a list: a sequence, not a string, and each item `item_ok` (when given)."""
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, Sequence)
        or (item_ok is not None and not all(item_ok(item) for item in value))
    ):
        raise ValidationError(f"{name} must be a list of {what}, got {value!r}.")
    return list(value)


def check_ports(ports: Sequence[int] | None) -> list[int] | None:
    if ports is None:
        return None
    checked = _as_list("ports", ports, "integers")
    for port in checked:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValidationError(f"Invalid port {port!r}: use an integer from 1 to 65535.")
    return checked


def check_args(args: Sequence[str] | None) -> list[str] | None:
    if args is None:
        return None
    return _as_list("args", args, "strings", lambda arg: isinstance(arg, str))


def check_envs(envs: Mapping[str, Any] | None) -> dict[str, str] | None:
    if envs is None:
        return None
    if not isinstance(envs, Mapping):
        raise ValidationError(f"envs must be a mapping of names to values, got {envs!r}.")
    checked: dict[str, str] = {}
    for key, value in envs.items():
        if not isinstance(key, str) or not env_name_ok(key):
            raise ValidationError(
                f"Invalid environment variable name {key!r}: use {ENV_NAME_RULE} "
                "(Kubernetes' rule)."
            )
        if value is None:
            raise ValidationError(f"Environment variable {key!r} has no value (None).")
        checked[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return checked


def check_max_duration(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"Invalid max_duration {value!r}: use a whole number of minutes >= 1."
        )
    return value
