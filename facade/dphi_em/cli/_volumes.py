"""``volumes`` and ``volume rm``: the user's volumes (an EM of the January 2026 revision)."""

from __future__ import annotations

import click

from ._common import command, group, json_option, one_call
from ._errors import confirm
from ._output import echo, human_bytes, info, print_json, table


@command("volumes")
@json_option
def volumes() -> None:
    """List your volumes with their size and file count.

    Only an EM of the January 2026 API revision lists volumes; against an older one the
    command fails before sending anything that changes state.

    \b
    Example:
      dphi-em volumes --json
    """
    state, found = one_call(lambda em: list(em.volumes()))
    if state.json:
        print_json(found)
        return
    rows = [
        [
            v.name or "(default)",
            human_bytes(v.size) if v.size is not None else "-",
            "-" if v.file_count is None else str(v.file_count),
        ]
        for v in found
    ]
    for line in table(["VOLUME", "SIZE", "FILES"], rows, right=[1, 2]):
        echo(line)


@group("volume")
def volume() -> None:
    """Manage your volumes (an EM of the January 2026 API revision)."""


@command("rm", parent=volume)
@json_option
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def volume_rm(name: str, yes: bool) -> None:
    """Delete the volume NAME with all its files (asks first unless --yes).

    \b
    Example:
      dphi-em volume rm old-run --yes
    """
    from dphi_em._errors import ValidationError
    from dphi_em._validate import validate_pod_name

    try:
        checked = validate_pod_name(name)
    except ValidationError as exc:
        raise click.BadParameter(str(exc), param_hint="'NAME'") from None
    if checked is None:
        raise click.BadParameter("give the name of a volume", param_hint="'NAME'")
    if not yes:
        prompt = f"Delete volume {checked!r} and all its files?"
        confirm(prompt, what="the volume was not deleted")
    state, message = one_call(lambda em: em.delete_volume(checked))
    if state.json:
        print_json({"deleted": checked, "message": message})
    else:
        info(f"Deleted volume {checked}.", quiet=state.quiet)


COMMANDS = [volumes, volume]
