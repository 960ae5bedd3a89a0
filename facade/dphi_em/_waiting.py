"""`wait_for_pod` decisions, apart from the polling and the sleeping.

`PodWait` is fed each observed state (or None when the pod is not found yet) and says
whether the wait is over, failed, or how long to sleep before the next poll. The sync and
async clients each add only their loop: poll, `observe`, sleep `next_delay()` seconds.

The failure rule (`docs/_snippets/pod-failures.md`): with `check=True` (the default) any
failure raises `PodFailedError`: a pod that cannot start (`FATAL_WAITING_REASONS`) and a
pod that terminated without succeeding (`succeeded`); with `check=False` the state the pod
ended or got stuck in is returned. The CLI applies the same rule (exit 10).
"""

from __future__ import annotations

from collections.abc import Callable

from . import _timing
from ._config import DEFAULT_POLL_INTERVAL, DEFAULT_WAIT_TIMEOUT
from ._errors import PodFailedError, ValidationError, WaitTimeoutError
from ._models import PodState

__all__ = [
    "FATAL_WAITING_REASONS",
    "NOT_EXECUTABLE_HINT",
    "UNTIL",
    "PodWait",
    "failure",
    "succeeded",
]

#: Waiting reasons after which a pod will not start without a new run.
FATAL_WAITING_REASONS = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "CrashLoopBackOff",
    }
)
#: Why a pod whose command is an uplinked file cannot start ("permission denied").
NOT_EXECUTABLE_HINT = (
    "permission denied: uplinked files are not executable (neither this client's uplink nor "
    "the EM's keeps the executable bit); add 'RUN chmod +x <file>' to the Dockerfile, or run "
    "it through the shell: --command '/bin/sh /data/<file>'"
)
#: What `until=` accepts.
UNTIL = ("running", "terminated")


def succeeded(state: PodState) -> bool:
    """Whether a terminated pod completed: exit code 0 (or none given, reason Completed)."""
    if state.exit_code is None:
        return state.reason in (None, "Completed")
    return state.exit_code == 0


def failure(state: PodState, label: str) -> str | None:
    """Why `state` is a failure (the message of `PodFailedError`), or None.

    A failure: terminated without succeeding, or waiting for a reason it will not recover
    from (`FATAL_WAITING_REASONS`).
    """
    if state.kind == "terminated" and not succeeded(state):
        how = f"exit code {state.exit_code}" if state.exit_code is not None else "no exit code"
        detail = f": {state.message}" if state.message else ""
        hint = ""
        if state.reason == "StartError" and "permission denied" in (state.message or "").lower():
            hint = f" ({NOT_EXECUTABLE_HINT})"
        reason = state.reason or "no reason given"
        return f"{label} ended with {how} ({reason}){detail}{hint}."
    if state.kind == "waiting" and state.reason in FATAL_WAITING_REASONS:
        detail = f": {state.message}" if state.message else ""
        return f"{label} cannot start: {state.reason}{detail}"
    return None


class PodWait:
    """The state of one `wait_for_pod` call.

    Args:
        pod_name: The pod, checked (None: the default pod).
        until: `running` or `terminated`.
        timeout: Seconds in all (None: `DEFAULT_WAIT_TIMEOUT`).
        poll_interval: Seconds between polls (None: `DEFAULT_POLL_INTERVAL`).
        check: Raise `PodFailedError` for any failure (see the module docs).
        clock: A monotonic clock (tests pass a fake one).

    Raises:
        ValidationError: `until`, `timeout` or `poll_interval` is not allowed.
    """

    def __init__(
        self,
        pod_name: str | None,
        until: str,
        timeout: float | None,
        poll_interval: float | None,
        *,
        check: bool = True,
        clock: Callable[[], float] = _timing.monotonic,
    ) -> None:
        if until not in UNTIL:
            raise ValidationError(f"Invalid until {until!r}: use 'running' or 'terminated'.")
        self.timeout = DEFAULT_WAIT_TIMEOUT if timeout is None else timeout
        self.interval = DEFAULT_POLL_INTERVAL if poll_interval is None else poll_interval
        for name, value in (("timeout", self.timeout), ("poll_interval", self.interval)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValidationError(f"Invalid {name} {value!r}: use a number of seconds >= 0.")
        self.pod_name = pod_name
        self.until = until
        self.check = check
        self.state: PodState | None = None
        self._deadline: float | None = None
        self._clock = clock

    @property
    def label(self) -> str:
        return f"Pod {self.pod_name!r}" if self.pod_name else "The default pod"

    def start(self) -> None:
        """Start the clock (call before the first poll)."""
        self._deadline = self._clock() + self.timeout

    def observe(self, state: PodState | None) -> PodState | None:
        """Take one observation; return the state when the wait is over.

        Raises:
            PodFailedError: With `check`, the pod cannot start or did not succeed.
        """
        self.state = state
        if state is None:
            return None
        why = failure(state, self.label)
        if why is not None and self.check:
            raise PodFailedError(why, pod_name=self.pod_name, state=state)
        if state.kind == "terminated" or state.kind == self.until or why is not None:
            return state
        return None

    def next_delay(self) -> float:
        """Seconds to sleep before the next poll.

        Raises:
            WaitTimeoutError: The time ran out; the message names the last state.
        """
        if self._deadline is None:
            self.start()
        assert self._deadline is not None
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            state = self.state
            seen: str = "not found" if state is None else state.kind
            if state is not None and state.reason:
                seen += f" ({state.reason})"
            raise WaitTimeoutError(
                f"{self.label} is not {self.until} after {self.timeout:g} s; last seen: {seen}.",
                pod_name=self.pod_name,
                state=state,
            )
        return min(self.interval, remaining)
