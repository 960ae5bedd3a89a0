"""``nodes``: which CG2 nodes can take a pod, and the kind ``run --node`` takes for each."""

from __future__ import annotations

import re
from typing import Any

from dphi_em import _settings

from ._common import command, one_call
from ._output import echo, print_json, table

_NUMBERED = re.compile(r"^([a-zA-Z]+)\d*$")


def node_kind(name: str) -> str | None:
    """The kind ``run --node`` takes for a node the EM lists: ``mpu1`` -> ``mpu``.

    Args:
        name: The node's name as the EM lists it (``fpga``, ``gpu``, ``mpu1``).

    Returns:
        One of ``fpga``, ``gpu``, ``mpu``; None for a node of no known kind.
    """
    match = _NUMBERED.match(name.strip())
    if match and match.group(1).upper() in _settings.NODES:
        return match.group(1).lower()
    return None


@command("nodes")
def nodes() -> None:
    """Show the CG2 nodes and whether each can take a pod.

    KIND is what 'dphi-em run --node' takes to run on that node (node mpu1 is --node mpu).

    \b
    Example:
      dphi-em nodes --json
    """
    state, found = one_call(lambda em: list(em.nodes_status()))
    if state.json:
        docs: list[dict[str, Any]] = [{**n.to_dict(), "kind": node_kind(n.name)} for n in found]
        print_json(docs)
        return
    rows = [
        [n.name, node_kind(n.name) or "-", "ready" if n.ready else "not ready", n.status]
        for n in found
    ]
    colours = {2: {"fg": "green"}} if all(n.ready for n in found) else {}
    for line in table(["NODE", "KIND", "STATE", "STATUS"], rows, styles=colours):
        echo(line)


COMMANDS = [nodes]
