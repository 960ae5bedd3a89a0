"""Checks of the arguments users pass, before anything is sent.

Each function returns the value to send (normalised: a node name upper-cased, a time parsed,
env values as strings) or raises `ValidationError` naming the bad value and what is allowed.
The CLI calls the same functions on its options, so that both refuse the same input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dateutil import parser as dateparser
from em_api_client.models import EmNodeType, EmRunRequestEnvsType0
from em_api_client.types import UNSET, Unset

from ._errors import ValidationError

__all__ = [
    "NODES",
    "check_args",
    "check_envs",
    "check_max_duration",
    "check_node",
    "check_ports",
    "check_scheduled_time",
    "require_str",
]

#: An environment variable name as Kubernetes takes it.
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")

#: The CG2 nodes a pod runs on, as the API spells them.
NODES = ("FPGA", "GPU", "MPU")


def require_str(name: str, value: Any, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value):
        raise ValidationError(f"{name} must be a non-empty string, got {value!r}.")
    return value


def check_node(node: str | EmNodeType) -> EmNodeType:
    try:
        return EmNodeType(str(node).upper())
    except ValueError:
        names = ", ".join(NODES)
        raise ValidationError(f"Invalid node {node!r}: use one of {names}.") from None


def check_scheduled_time(value: datetime | str | None) -> datetime | Unset:
    if value is None or value == "":
        return UNSET
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


def check_ports(ports: Sequence[int] | None) -> list[int] | Unset:
    if ports is None:
        return UNSET
    if isinstance(ports, (str, bytes)) or not isinstance(ports, Sequence):
        raise ValidationError(f"ports must be a list of integers, got {ports!r}.")
    checked = []
    for port in ports:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValidationError(f"Invalid port {port!r}: use an integer from 1 to 65535.")
        checked.append(port)
    return checked


def check_args(args: Sequence[str] | None) -> list[str] | Unset:
    if args is None:
        return UNSET
    if isinstance(args, (str, bytes)) or not isinstance(args, Sequence):
        raise ValidationError(f"args must be a list of strings, got {args!r}.")
    if not all(isinstance(a, str) for a in args):
        raise ValidationError(f"args must be a list of strings, got {args!r}.")
    return list(args)


def check_envs(envs: Mapping[str, Any] | None) -> EmRunRequestEnvsType0 | Unset:
    if envs is None:
        return UNSET
    if not isinstance(envs, Mapping):
        raise ValidationError(f"envs must be a mapping of names to values, got {envs!r}.")
    model = EmRunRequestEnvsType0()
    for key, value in envs.items():
        if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
            raise ValidationError(
                f"Invalid environment variable name {key!r}: use letters, digits, '_', '-' "
                "and '.', not starting with a digit (Kubernetes' rule)."
            )
        if value is None:
            raise ValidationError(f"Environment variable {key!r} has no value (None).")
        model.additional_properties[key] = (
            ("true" if value else "false") if isinstance(value, bool) else str(value)
        )
    return model


def check_max_duration(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"Invalid max_duration {value!r}: use a whole number of minutes >= 1."
        )
    return value
