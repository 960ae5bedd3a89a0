"""``dphi-em logs``: a pod's console output, where the server keeps it (the emulator).

Also `print_last_lines`, which ``run --wait`` and ``status --watch`` call when a pod failed
(exit 10), so the reason the pod printed is on screen without a second command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._common import command, one_call, pod_option
from ._output import echo, print_json, printable, style

if TYPE_CHECKING:
    from dphi_em import EMClient

#: Lines of a failed pod's console output printed before its exit 10.
LAST_LINES = 20


@command("logs")
@pod_option
def logs(pod: str | None) -> None:
    """Print a pod's console output (stdout and stderr).

    The local emulator keeps it; the EM keeps none (write your log under /data there and
    downlink it).

    \b
    Examples:
      dphi-em logs --pod job1
      dphi-em logs --pod job1 --json
    """
    state, text = one_call(lambda em: em.pod_logs(pod))
    if state.json:
        print_json({"pod": pod, "log": text})
        return
    for line in text.splitlines():
        echo(printable(line))


def print_last_lines(em: EMClient, pod: str | None, *, lines: int = LAST_LINES) -> None:
    """Print the last `lines` of a pod's console output on stderr, when the server has them
    (nothing when it keeps none, or on any error: the pod's failure is what is reported)."""
    from dphi_em import EMError

    try:
        text = em.pod_logs(pod)
    except EMError:
        return
    tail = [line for line in text.splitlines()][-lines:]
    if not tail:
        return
    who = f"pod '{pod}'" if pod else "the default pod"
    echo(style(f"--- last {len(tail)} console line(s) of {who} ---", dim=True), err=True)
    for line in tail:
        echo("  " + printable(line), err=True)


COMMANDS = [logs]
