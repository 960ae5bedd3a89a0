"""``nodes``: which CG2 nodes can take a pod."""

from __future__ import annotations

from ._common import command, get_state, json_option, open_client
from ._output import echo, print_json, table


@command("nodes")
@json_option
def nodes() -> None:
    """Show the CG2 nodes and whether each can take a pod."""
    state = get_state()
    with open_client(state) as em:
        found = list(em.nodes_status())
    if state.json:
        print_json(found)
        return
    rows = [[n.name, "ready" if n.ready else "not ready", n.status] for n in found]
    colours = {1: {"fg": "green"}} if all(n.ready for n in found) else {}
    for line in table(["NODE", "STATE", "STATUS"], rows, styles=colours):
        echo(line)


COMMANDS = [nodes]
