"""Pods: ``run``, ``status``, ``namespace create``."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dphi_em import _settings

from ._common import (
    checked_by,
    command,
    get_state,
    group,
    json_option,
    one_call,
    open_client,
    pod_option,
)
from ._output import echo, info, print_json, printable, style, to_plain

F = TypeVar("F", bound=Callable[..., Any])

NODES = tuple(node.lower() for node in _settings.NODES)
#: What a shell would interpret in a command line; the EM runs none (no shell).
_SHELL_SYNTAX = re.compile(r"&&|\|\||[<>|;&$`*]")
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "busybox"})


def _warn_shell_syntax(cmd: str | None, quiet: bool) -> None:
    """Warn when ``--command`` holds shell syntax: the EM splits it into words and runs the
    first as a program (no shell), so ``>``, ``|``, ``&&``, ``$`` reach it as arguments."""
    if not cmd:
        return
    words = cmd.split()
    if words and words[0].rsplit("/", 1)[-1] in _SHELLS and "-c" in words[1:]:
        return
    found = sorted({match.group() for match in _SHELL_SYNTAX.finditer(cmd)})
    if not found:
        return
    info(
        style("warning: ", fg="yellow")
        + f"--command {cmd!r} holds shell syntax ({' '.join(found)}) that the EM does not "
        "interpret: it runs the first word as a program and passes the rest as arguments. "
        f"For a shell, use: --command '/bin/sh -c' --arg {_quote(cmd)}",
        quiet=quiet,
    )


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


_RELATIVE = re.compile(r"^\+(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_at(value: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """``--at``: an ISO 8601 time with a zone, or ``+5m`` / ``+1h30m`` / ``+2d`` / ``+90s``.

    Args:
        value: The option's value.
        now: The time ``+...`` counts from (default: now).

    Returns:
        An aware datetime.

    Raises:
        ValueError: Not one of the two forms, or an ISO time without a zone.
    """
    text = value.strip()
    if text.startswith("+"):
        match = _RELATIVE.match(text)
        if not match or not any(match.groups()):
            raise ValueError(
                f"{value!r} is not a relative time: use +N followed by d, h, m or s, "
                "e.g. +5m, +1h30m, +90s"
            )
        days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        base = (now or dt.datetime.now(dt.timezone.utc).astimezone()).replace(microsecond=0)
        return base + dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    from dphi_em._errors import ValidationError
    from dphi_em._validate import check_scheduled_time  # the facade's own check

    try:
        parsed = check_scheduled_time(text)
    except ValidationError as exc:
        raise ValueError(str(exc)) from None
    assert isinstance(parsed, dt.datetime)
    return parsed


_check_at = checked_by(parse_at)


def _check_envs(
    _ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    envs: dict[str, str] = {}
    for item in values:
        name, sep, val = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} has no '=': use NAME=VALUE", param=param)
        if not _settings.env_name_ok(name):  # the library's rule, not a stricter copy
            raise click.BadParameter(
                f"{item!r}: {name!r} is not a variable name ({_settings.ENV_NAME_RULE})",
                param=param,
            )
        envs[name] = val
    return envs


WAIT_CHOICES = ("running", "terminated")


def _check_wait(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None or value in WAIT_CHOICES:
        return value
    raise click.BadParameter(
        f"{value!r} is not 'running' or 'terminated' (a bare --wait takes the word after it: "
        "write --wait=running, or put --wait after IMAGE)",
        param=param,
    )


def _seconds_option(
    name: str, *, help: str, at_least: float | None = None, default: float | None = None
) -> Callable[[F], F]:
    """An option taking seconds: at least `at_least`, else more than 0 (default shown if any)."""
    return click.option(
        name,
        type=click.FloatRange(min=at_least or 0, min_open=at_least is None),
        default=default,
        show_default=default is not None,
        metavar="SECONDS",
        help=help,
    )


@command("run")
@click.argument("image")
@click.option(
    "--node",
    type=click.Choice(NODES, case_sensitive=False),
    default="fpga",
    show_default=True,
    help="Kind of node to run on (the KIND column of 'dphi-em nodes').",
)
@click.option(
    "--max-duration",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="MIN",
    help="Minutes after its start when the pod is stopped.",
)
@click.option("--command", "cmd", metavar="CMD", help="Command replacing the image's own.")
@click.option("--arg", "args", multiple=True, metavar="A", help="An argument (repeatable).")
@click.option(
    "--env",
    "envs",
    multiple=True,
    metavar="K=V",
    callback=_check_envs,
    help="An environment variable (repeatable).",
)
@click.option(
    "--port",
    "ports",
    multiple=True,
    type=click.IntRange(1, 65535),
    metavar="N",
    help="A port exposed to your other pods in the namespace (repeatable).",
)
@click.option(
    "--at",
    "at",
    metavar="ISO-TIME|+5m",
    callback=_check_at,
    help="Start later: an ISO 8601 time with a zone (2025-05-22T12:10:00+02:00) or +5m, +1h30m.",
)
@pod_option
@click.option("--namespace", is_flag=True, help="Run in your private namespace (inter-pod).")
@click.option(
    "--wait",
    "wait",
    is_flag=False,
    flag_value="running",
    default=None,
    callback=_check_wait,
    shell_complete=lambda _c, _p, incomplete: [w for w in WAIT_CHOICES if w.startswith(incomplete)],
    metavar="[=running|terminated]",
    help="Wait until the pod runs (--wait) or ends (--wait=terminated); exit 10 if it "
    "failed or cannot start, 11 on timeout.",
)
@_seconds_option(
    "--timeout",
    help="With --wait: how long to wait [default: 300 s after the start time, plus "
    "--max-duration with --wait=terminated].",
)
def run(
    image: str,
    node: str,
    max_duration: int,
    cmd: str | None,
    args: tuple[str, ...],
    envs: dict[str, str],
    ports: tuple[int, ...],
    at: dt.datetime | None,
    pod: str | None,
    namespace: bool,
    wait: str | None,
    timeout: float | None,
) -> None:
    """Run IMAGE as a pod (your built or loaded image, or a public one).

    With --wait=terminated the command ends with the pod: exit 0 only when it completed
    with exit code 0, else 10 (its exit code is shown), 11 when --timeout ran out.

    \b
    Examples:
      dphi-em run my-image --pod job1 --node gpu --max-duration 5 --env SIZE=1024
      dphi-em run my-image --pod job1 --wait=terminated --json
    """
    state = get_state()
    who = f"pod '{pod}'" if pod else "the default pod"
    doc: dict[str, Any] = {
        "pod": pod,
        "image": image,
        "node": node.upper(),
        "max_duration": max_duration,
        "scheduled_time": to_plain(at),
        "namespace": namespace,
        "state": None,
    }
    _warn_shell_syntax(cmd, state.quiet or state.json)
    with open_client(state) as em:
        doc["message"] = em.run(
            image,
            node=node.upper(),
            max_duration=max_duration,
            command=cmd,
            scheduled_time=at,
            pod_name=pod,
            ports=list(ports) or None,
            namespace=namespace,
            args=list(args) or None,
            envs=envs or None,
        )
        when = f" at {at.isoformat(timespec='seconds')}" if at else ""
        if not state.quiet and not state.json:
            echo(
                f"Scheduled {style(image, bold=True)} on {node.upper()} as {who}{when} "
                f"(max {max_duration} min)."
            )
        if wait is None:
            if state.json:
                print_json(doc)
            return
        if timeout is None:
            from dphi_em._config import DEFAULT_WAIT_TIMEOUT

            timeout = DEFAULT_WAIT_TIMEOUT
            if at is not None:
                delay = (at - dt.datetime.now(dt.timezone.utc)).total_seconds()
                timeout += max(0.0, delay)
            if wait == "terminated":
                timeout += 60.0 * max_duration
        verb = "end" if wait == "terminated" else "run"
        info(f"Waiting for the pod to {verb}...", quiet=state.quiet or state.json)
        try:
            final = em.wait_for_pod(pod, until=wait, timeout=timeout)
        except Exception as exc:
            last = getattr(exc, "state", None)
            if state.json and last is not None:
                from ._errors import error_document

                print_json({**doc, "state": to_plain(last), **error_document(exc)})
                state.json_done = True
            elif last is not None and not state.quiet:
                echo(f"{who[0].upper() + who[1:]}: {describe_state(last)}")
            _after_failure(em, pod, exc, state.quiet)
            raise
        doc["state"] = to_plain(final)
        if state.json:
            print_json(doc)
        elif not state.quiet:
            echo(f"{who[0].upper() + who[1:]}: {describe_state(final)}")
        _show_warnings(final, state.quiet)


def _after_failure(em: Any, pod: str | None, exc: BaseException, quiet: bool) -> None:
    """Before exit 10: the pod's warnings and its last console lines (when the server keeps
    them)."""
    from dphi_em import PodFailedError

    if not isinstance(exc, PodFailedError):
        return
    _show_warnings(exc.state, quiet)
    from ._logs import print_last_lines

    print_last_lines(em, pod)


def _show_warnings(current: Any, quiet: bool) -> None:
    """The emulator's warnings about a pod (e.g. an amd64 image), on stderr."""
    for warning in getattr(current, "warnings", ()) or ():
        info(style("warning: ", fg="yellow") + printable(warning), quiet=quiet)


def _fmt_time(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value) if value else ""


def describe_state(state: Any) -> str:
    """One line for a `PodState`: kind (coloured), reason, times, exit code, message."""
    kind = str(getattr(state, "kind", "unknown"))
    colour = {"running": "green", "waiting": "yellow"}.get(kind)
    exit_code = getattr(state, "exit_code", None)
    if kind == "terminated":
        colour = "blue" if exit_code in (0, None) else "red"
    parts = [style(kind, fg=colour, bold=True)]
    reason = getattr(state, "reason", None)
    if reason:
        parts.append(printable(reason))
    started = getattr(state, "started_at", None)
    finished = getattr(state, "finished_at", None)
    if started:
        parts.append(f"started {_fmt_time(started)}")
    if finished:
        parts.append(f"finished {_fmt_time(finished)}")
    if exit_code is not None:
        parts.append(f"exit code {exit_code}")
    message = getattr(state, "message", None)
    line = parts[0] + (" (" + ", ".join(parts[1:]) + ")" if len(parts) > 1 else "")
    if message:
        line += ": " + printable(" ".join(str(message).split()))
    return line


def _state_key(state: Any) -> tuple[Any, ...]:
    return tuple(
        getattr(state, a, None) for a in ("kind", "reason", "message", "exit_code", "started_at")
    )


def _status_doc(pod: str | None, state: Any) -> dict[str, Any]:
    doc = to_plain(state)
    body = doc if isinstance(doc, dict) else {"state": doc}
    return {"pod": pod, **body}


@command("status")
@pod_option
@click.option(
    "--watch",
    "-w",
    is_flag=True,
    help="Print each change until the pod ends (exit 0) or fails (exit 10: a non-zero exit "
    "code, or a waiting reason it does not recover from, e.g. ImagePullBackOff).",
)
@_seconds_option(
    "--interval", at_least=0.1, default=2.0, help="With --watch: seconds between polls."
)
@_seconds_option(
    "--timeout", help="With --watch: give up (exit 11) after this long [default: never]."
)
def status(pod: str | None, watch: bool, interval: float, timeout: float | None) -> None:
    """Show a pod's state: waiting (with its reason), running or terminated.

    \b
    Examples:
      dphi-em status --pod job1
      dphi-em status --pod job1 --watch --json   # one JSON document per change
    """
    state = get_state()
    who = f"pod '{pod}'" if pod else "default pod"
    with open_client(state) as em:
        current = em.pod_status(pod_name=pod)
        if not watch:
            if state.json:
                print_json(_status_doc(pod, current))
            else:
                echo(f"{who}: {describe_state(current)}")
                _show_warnings(current, state.quiet)
            return
        from dphi_em import PodFailedError
        from dphi_em._waiting import PodWait

        from ._logs import print_last_lines

        # the library's rule (check=True): terminated ends the wait, any failure (a non-zero
        # exit code, a fatal waiting reason) raises PodFailedError, the deadline
        # WaitTimeoutError
        waiter = PodWait(pod, "terminated", timeout or float("inf"), interval)
        waiter.start()
        last: tuple[Any, ...] | None = None
        warned = False
        while True:
            key = _state_key(current)
            if key != last:
                last = key
                if state.json:
                    print_json(_status_doc(pod, current), lines=True)
                else:
                    stamp = dt.datetime.now().strftime("%H:%M:%S")
                    echo(f"{style(stamp, dim=True)}  {who}: {describe_state(current)}")
                    if not warned and current.warnings:
                        _show_warnings(current, state.quiet)
                        warned = True
            try:
                done = waiter.observe(current)
            except PodFailedError:
                if not state.json:
                    print_last_lines(em, pod)
                raise
            if done is not None:
                break
            time.sleep(waiter.next_delay())
            current = em.pod_status(pod_name=pod)


@group("namespace")
def namespace() -> None:
    """Your private namespace, for pods that talk to each other."""


@command("create", parent=namespace)
@json_option
def namespace_create() -> None:
    """Create your private namespace (once; then run pods with --namespace).

    A pod exposing --port N is reached by the others as <username>-<pod>:N.

    \b
    Example:
      dphi-em namespace create && dphi-em run server-image --pod api --namespace --port 80
    """
    state, message = one_call(lambda em: em.namespace_create())
    if state.json:
        print_json({"namespace": "created", "message": message})
    elif not state.quiet:
        echo("Namespace created: run pods with --namespace to let them reach each other.")


COMMANDS = [run, status, namespace]
