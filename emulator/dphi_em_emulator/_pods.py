"""Pods: `POST /em/pod/run` validation and a Kubernetes container state that follows time.

No container runs. A pod record holds the instants at which its state changes:

- `waiting` / `ContainerCreating` until its (scaled) `scheduled_time` plus the start delay;
- `waiting` / `ImagePullBackOff` from then on when the image is neither the user's nor public;
- `waiting` / `Unschedulable` when its node was not ready when it was run;
- `running` with `startedAt`, for `max_duration` (scaled) minutes;
- `terminated` with `exitCode` 0, `reason` "Completed", `startedAt` and `finishedAt`; or,
  when the run's `envs` set `DPHI_EM_EMULATOR_EXIT_CODE` to a non-zero number (pods run
  nothing here, so this is how a test asks for a failed pod), that exit code and "Error".

Image and node availability are decided when the pod is run.
"""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import datetime, timezone
from typing import Any

from ._config import NODE_NAMES, EmulatorConfig
from ._errors import EMError, bad_parameter
from ._forms import Fields, parse_json
from ._state import JsonDocument

#: Longest `max_duration` accepted (minutes; about 1900 years).
MAX_DURATION = 10**9
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


@dataclasses.dataclass(frozen=True)
class RunRequest:
    """A validated `POST /em/pod/run` body."""

    image: str
    max_duration: int
    node: str
    scheduled_time: datetime | None
    command: str | None
    args: list[str] | None
    envs: dict[str, str | int | float] | None
    ports: list[int] | None
    namespace: bool


def _int(name: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,18}\s*", value):
        return int(value)
    raise bad_parameter(f"{name} must be an integer, not {value!r}.")


def _bool(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes", "on")
    raise bad_parameter(f"namespace must be a boolean, not {value!r}.")


def _json_if_text(name: str, value: Any, typed: bool) -> Any:
    """Form bodies carry objects as JSON text (as DRF's JSONField reads them)."""
    if typed or not isinstance(value, str):
        return value
    try:
        return parse_json(value)
    except EMError as exc:
        raise bad_parameter(f"{name} must be a JSON object: {exc.message}") from None


def parse_run(fields: Fields) -> RunRequest:
    """Validate every field of a run request.

    Raises:
        EMError: 400 `INVALID_PARAMETERS` naming the first bad field and value.
    """
    image = fields.get("image")
    if not isinstance(image, str) or not image.strip():
        raise bad_parameter("image is required.")
    raw_duration = fields.get("max_duration")
    if raw_duration is None:
        raise bad_parameter("max_duration is required.")
    max_duration = _int("max_duration", raw_duration)
    if max_duration > MAX_DURATION:
        raise bad_parameter(f"max_duration must be at most {MAX_DURATION} minutes.")
    if max_duration < 1:
        raise bad_parameter(
            f"max_duration must be a positive integer (minutes), not {max_duration}."
        )
    node = fields.get("node") or "FPGA"
    if not isinstance(node, str) or node not in NODE_NAMES:
        raise bad_parameter(f"Invalid node {node!r}: expected one of FPGA, GPU, MPU.")
    scheduled_time = _scheduled_time(fields.get("scheduled_time"))
    command = fields.get("command")
    if command is not None and not isinstance(command, str):
        raise bad_parameter(f"command must be a string, not {command!r}.")
    args = fields.get_list("args")
    if args is not None and (
        not isinstance(args, list) or not all(isinstance(arg, str) for arg in args)
    ):
        raise bad_parameter(f"args must be a list of strings, not {args!r}.")
    envs = _envs(_json_if_text("envs", fields.get("envs"), fields.typed))
    ports = _ports(fields.get_list("ports"), fields.typed)
    namespace = _bool(fields.get("namespace"))
    return RunRequest(
        image.strip(), max_duration, node, scheduled_time, command, args, envs, ports, namespace
    )


def _scheduled_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_parameter(f"scheduled_time must be an ISO 8601 string, not {value!r}.")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise bad_parameter(f"Invalid scheduled_time {value!r}: expected ISO 8601.") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise bad_parameter(
            f"Invalid scheduled_time {value!r}: a time zone is required "
            "(e.g. 2025-05-22T12:10:00+02:00)."
        )
    try:
        parsed.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise bad_parameter(f"Invalid scheduled_time {value!r}: out of range.") from None
    return parsed


def _envs(value: Any) -> dict[str, str | int | float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_parameter(f"envs must be an object of names to values, not {value!r}.")
    for key, item in value.items():
        if not _ENV_NAME.fullmatch(key):
            raise bad_parameter(f"Invalid environment variable name {key!r} in envs.")
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise bad_parameter(f"envs[{key!r}] must be a string or a number, not {item!r}.")
    return value


def _ports(value: Any, typed: bool) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise bad_parameter(f"ports must be a list of integers, not {value!r}.")
    ports: list[int] = []
    for item in value:
        if typed and (isinstance(item, bool) or not isinstance(item, int)):
            raise bad_parameter(f"ports must be a list of integers, not {value!r}.")
        port = _int("ports", item)
        if not 1 <= port <= 65535:
            raise bad_parameter(f"Invalid port {port}: ports are 1 to 65535.")
        ports.append(port)
    return ports


def _rfc3339(instant: float) -> str:
    try:
        moment = datetime.fromtimestamp(instant, tz=timezone.utc)
    except (OverflowError, ValueError, OSError):
        moment = datetime.max.replace(tzinfo=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Pods:
    """Each user's pods (one per name), kept in `pods.json`."""

    def __init__(self, document: JsonDocument, config: EmulatorConfig) -> None:
        self._doc = document
        self._config = config

    def run(
        self,
        user: str,
        pod_name: str | None,
        request: RunRequest,
        image_ref: str,
        image_available: bool,
    ) -> None:
        """Record a pod (replacing one of the same name)."""
        now = time.time()
        scale = self._config.time_scale
        delay = 0.0
        if request.scheduled_time is not None:
            delay = max(0.0, request.scheduled_time.timestamp() - now) / scale
        node_name = NODE_NAMES[request.node]
        record = {
            "pod_name": pod_name or "",
            "image": request.image,
            "image_ref": image_ref,
            "image_available": image_available,
            "node": request.node,
            "node_ready": node_name not in self._config.not_ready_nodes,
            "max_duration": request.max_duration,
            "scheduled_time": request.scheduled_time.isoformat()
            if request.scheduled_time
            else None,
            "command": request.command,
            "args": request.args,
            "envs": request.envs,
            "ports": request.ports,
            "namespace": request.namespace,
            "created": now,
            "scheduled_at": now + delay,
            "start": now + delay + self._config.pod_start_delay,
            "duration": request.max_duration * 60.0 / scale,
        }
        pods: dict[str, Any] = self._doc.get(user) or {}
        pods[pod_name or ""] = record
        self._doc.update(user, pods)

    def get(self, user: str, pod_name: str | None) -> dict[str, Any] | None:
        pods: dict[str, Any] = self._doc.get(user) or {}
        record: dict[str, Any] | None = pods.get(pod_name or "")
        return record


#: An env of a run that makes its pod end with that exit code (emulator only).
EXIT_CODE_ENV = "DPHI_EM_EMULATOR_EXIT_CODE"


def _requested_exit_code(envs: Any) -> int:
    value = envs.get(EXIT_CODE_ENV) if isinstance(envs, dict) else None
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0


def container_state(record: dict[str, Any], user: str, now: float | None = None) -> dict[str, Any]:
    """The Kubernetes ContainerState of a pod record at `now`."""
    now = time.time() if now is None else now
    if not record["node_ready"]:
        node = NODE_NAMES[record["node"]]
        return {
            "waiting": {
                "reason": "Unschedulable",
                "message": f"0/3 nodes are available: node {node!r} is not ready.",
            }
        }
    start = record["start"]
    if now < record["scheduled_at"]:
        return {
            "waiting": {
                "reason": "ContainerCreating",
                "message": f"Scheduled to start at {_rfc3339(record['scheduled_at'])}",
            }
        }
    if now < start:
        return {"waiting": {"reason": "ContainerCreating"}}
    if not record["image_available"]:
        ref = record["image_ref"]
        qualified = ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"
        if "/" not in qualified:
            qualified = f"docker.io/library/{qualified}"
        return {
            "waiting": {
                "reason": "ImagePullBackOff",
                "message": (
                    f'Back-off pulling image "{ref}": ErrImagePull: failed to pull and unpack '
                    f'image "{qualified}": failed to resolve reference "{qualified}": pull '
                    "access denied, repository does not exist or may require authorization: "
                    "server message: insufficient_scope: authorization failed"
                ),
            }
        }
    end = start + record["duration"]
    if now < end:
        return {"running": {"startedAt": _rfc3339(start)}}
    exit_code = _requested_exit_code(record.get("envs"))
    return {
        "terminated": {
            "exitCode": exit_code,
            "reason": "Completed" if exit_code == 0 else "Error",
            "startedAt": _rfc3339(start),
            "finishedAt": _rfc3339(end),
        }
    }


def pod_report(record: dict[str, Any], user: str) -> dict[str, Any]:
    """What the emulator recorded of a pod (an emulator-only addition to the status data)."""
    pod_name = record["pod_name"]
    ports = record["ports"] or []
    return {
        "pod_name": pod_name,
        "image": record["image_ref"],
        "node": record["node"],
        "max_duration": record["max_duration"],
        "scheduled_time": record["scheduled_time"],
        "command": record["command"],
        "args": record["args"],
        "envs": record["envs"],
        "namespace": record["namespace"],
        "ports": ports,
        "addresses": [f"{user}-{pod_name}:{port}" for port in ports] if pod_name else [],
    }
