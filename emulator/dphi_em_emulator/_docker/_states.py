"""State mapping: a pod record and its container's state -> Kubernetes' ContainerState.

A pod record (`docker-pods.json`) has a `phase`: `scheduled` (before its time, or being
created), `pulling` (`--pull`), `waiting` (`ErrImagePull`, `ImagePullBackOff`,
`CreateContainerError`, `Unschedulable`), `running`, or `done` with its `final` terminated
state. The engine's container `State` becomes that `terminated` state when the container ends.
Times are in the contract's format (`2025-11-20T12:31:12Z`).
"""

from __future__ import annotations

import time
from typing import Any

from ._common import engine_time, rfc3339

#: A pod whose image the engine is pulling (`--pull`).
PULLING = "pulling"
#: Pod phases the supervisor has nothing more to do for.
SETTLED = frozenset({"done"})


def container_state(record: dict[str, Any], now: float) -> dict[str, Any]:
    """The pod's ContainerState: `{"waiting": ...}`, `{"running": ...}` or `{"terminated": ...}`."""
    phase = record["phase"]
    if phase == "done":
        return {"terminated": dict(record["final"])}
    if phase == "running":
        return {"running": {"startedAt": record["started_at"]}}
    if phase == "waiting":
        waiting = record["waiting"]
        return {"waiting": {"reason": waiting["reason"], "message": waiting["message"]}}
    if now < record["start_at"]:
        return {
            "waiting": {
                "reason": "ContainerCreating",
                "message": f"Scheduled to start at {rfc3339(record['start_at'])}",
            }
        }
    if phase == PULLING:
        message = f'Pulling image "{record["image_ref"]}"'
        return {"waiting": {"reason": "ContainerCreating", "message": message}}
    return {"waiting": {"reason": "ContainerCreating"}}


def finish(record: dict[str, Any], state: dict[str, Any]) -> None:
    """End the pod with its finished container's engine `State` (exit code, OOM kill, times);
    a pod stopped at `max_duration` says so in the `message`."""
    exit_code = int(state.get("ExitCode") or 0)
    reason = "OOMKilled" if state.get("OOMKilled") else "Completed" if exit_code == 0 else "Error"
    message = None
    if record.get("stop_sent") is not None:
        minutes = record["max_duration"]
        how = (
            "stopped (SIGTERM), then killed (SIGKILL) after the grace period"
            if record.get("killed")
            else "stopped (SIGTERM)"
        )
        message = f"DeadlineExceeded: max_duration ({minutes} min) reached: {how}"
    started = engine_time(state.get("StartedAt")) or record.get("started_at")
    finished = engine_time(state.get("FinishedAt")) or rfc3339(time.time())
    record["phase"] = "done"
    record["final"] = {
        "exitCode": exit_code,
        "reason": reason,
        "startedAt": started,
        "finishedAt": finished,
        **({"message": message} if message else {}),
    }


def terminate(
    record: dict[str, Any],
    exit_code: int,
    reason: str,
    started: float,
    finished: float,
    message: str | None = None,
) -> None:
    """End the pod with a terminated state the emulator decides (no container to read)."""
    record["phase"] = "done"
    record["final"] = {
        "exitCode": exit_code,
        "reason": reason,
        "startedAt": record.get("started_at") or rfc3339(started),
        "finishedAt": rfc3339(finished),
        **({"message": message} if message else {}),
    }
