"""``dphi-em sync``: a local folder and a volume folder, either way."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._common import command, get_state, json_option, open_client
from ._errors import confirm
from ._output import echo, human_bytes, info, print_json
from ._progress import progress_for

if TYPE_CHECKING:
    from dphi_em._treesync import SyncResult

REMOTE_PREFIX = "pod:"


def parse_remote(value: str) -> tuple[str | None, str] | None:
    """``pod:NAME/dir`` as (pod name, folder); ``pod:/dir`` or ``pod:``: the default volume.

    Returns None for a local path.

    Raises:
        click.BadParameter: An invalid pod name.
    """
    if not value.startswith(REMOTE_PREFIX):
        return None
    rest = value[len(REMOTE_PREFIX) :]
    name, _, folder = rest.partition("/")
    if not name:
        return None, folder
    from dphi_em._errors import ValidationError
    from dphi_em._validate import validate_pod_name

    try:
        return validate_pod_name(name), folder
    except ValidationError as exc:
        raise click.BadParameter(str(exc)) from None


@command("sync")
@click.argument("source", metavar="SOURCE")
@click.argument("dest", metavar="DEST")
@click.option("--delete", is_flag=True, help="Also delete, on DEST, what SOURCE lacks.")
@click.option("--dry-run", "-n", is_flag=True, help="Change nothing; show what would be done.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deleting (--delete).")
@click.option(
    "--checksum",
    "-c",
    is_flag=True,
    help="Re-hash every local file, not only those whose size or mtime changed.",
)
@json_option
def sync(source: str, dest: str, delete: bool, dry_run: bool, yes: bool, checksum: bool) -> None:
    """Send or fetch only what differs between a local folder and a volume folder.

    One side is local, the other pod:NAME/DIR (pod:/DIR is the default volume).
    The contents of SOURCE are mirrored into DEST. A file is transferred when DEST lacks
    it, its size differs, or either copy changed since the last sync of these two folders
    (whatever the change: a local sync record keeps what each side held). Symbolic links
    are not followed, either way: they are skipped and reported. With --delete, what DEST
    has and SOURCE lacks is deleted, after a confirmation unless --yes.

    \b
    Examples:
      dphi-em sync ./inputs pod:job1/inputs
      dphi-em sync pod:job1/results ./results --delete --yes
      dphi-em sync ./inputs pod:job1/inputs --dry-run
    """
    up, down = parse_remote(dest), parse_remote(source)
    if (up is None) == (down is None):
        raise click.UsageError(
            "give one local folder and one volume folder (pod:NAME/DIR), in either order"
        )
    state = get_state()
    with open_client(state) as em:

        def run(dry: bool) -> SyncResult:
            with progress_for(state, "sync") as progress:
                if up is not None:
                    pod, folder = up
                    return em.sync_up(
                        Path(source),
                        folder,
                        pod,
                        delete=delete,
                        dry_run=dry,
                        progress=progress,
                        checksum=checksum,
                    )
                assert down is not None
                pod, folder = down
                return em.sync_down(
                    folder,
                    Path(dest),
                    pod,
                    delete=delete,
                    dry_run=dry,
                    progress=progress,
                    checksum=checksum,
                )

        ask = delete and not dry_run and not yes
        result = run(dry_run or ask)
        if ask and result.deleted:
            side = dest
            shown = ", ".join(result.deleted[:5]) + (" ..." if len(result.deleted) > 5 else "")
            prompt = f"Delete {len(result.deleted)} path(s) from {side} ({shown})?"
            confirm(prompt, what="nothing was deleted or transferred")
        if ask:
            result = run(False)
    _report(result, state.json, state.quiet)


def _report(result: SyncResult, as_json: bool, quiet: bool) -> None:
    if as_json:
        print_json(result)
        return
    verb = "send" if result.direction == "up" else "fetch"
    done = {"send": "Sent", "fetch": "Fetched"}[verb]
    links = [item.path for item in result.skipped if item.reason == "link"]
    if links:
        shown = ", ".join(links[:5]) + (" ..." if len(links) > 5 else "")
        info(f"Skipped {len(links)} symbolic link path(s), not followed: {shown}", quiet=quiet)
    if result.dry_run:
        for item in result.transferred:
            echo(f"would {verb} {item.path} ({item.reason}, {human_bytes(item.size)})")
        for path in result.deleted:
            echo(f"would delete {path}")
        info(
            f"Dry run: {len(result.transferred)} to {verb}, {len(result.deleted)} to delete, "
            f"{len(result.skipped) - len(links)} unchanged.",
            quiet=quiet,
        )
        return
    info(
        f"{done} {len(result.transferred)} file(s), {human_bytes(result.total_bytes)}; "
        f"deleted {len(result.deleted)}; {len(result.skipped) - len(links)} unchanged "
        f"({result.calls} call(s)).",
        quiet=quiet,
    )


COMMANDS = [sync]
