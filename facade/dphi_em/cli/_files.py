"""Files in a volume: ``ls``, ``uplink``, ``downlink``, ``rm``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._common import command, get_state, json_option, open_client, pod_option
from ._errors import CLIError, ExitCode
from ._output import (
    can_encode,
    echo,
    find_node,
    human_bytes,
    info,
    node_children,
    node_is_dir,
    node_size,
    print_json,
    style,
    tree_lines,
)
from ._progress import progress_for

if TYPE_CHECKING:
    from dphi_em._models import FileNode


def volume_label(pod: str | None) -> str:
    """How messages name a volume."""
    return f"volume of pod '{pod}'" if pod else "default volume"


def _count(nodes: Sequence[FileNode]) -> tuple[int, int, int]:
    """Files, folders and bytes under ``nodes``."""
    files = dirs = size = 0
    for node in nodes:
        if node_is_dir(node):
            sub = _count(node_children(node))
            files, dirs, size = files + sub[0], dirs + 1 + sub[1], size + sub[2]
        else:
            files, size = files + 1, size + node_size(node)
    return files, dirs, size


@command("ls")
@click.argument("path", required=False, default="", metavar="[PATH]")
@pod_option
@json_option
def ls(path: str, pod: str | None) -> None:
    """List the files of a volume as a tree (PATH: a folder or file in it).

    \b
    Examples:
      dphi-em ls --pod job1
      dphi-em ls results --pod job1 --json   # sizes in bytes, ISO 8601 times
    """
    state = get_state()
    with open_client(state) as em:
        tree = list(em.files_list(pod_name=pod))
    nodes: list[FileNode] = list(tree)
    shown_path = "/" + path.strip("/") if path.strip("/.") else "/"
    if shown_path != "/":
        node = find_node(tree, path)
        if node is None:
            raise CLIError(
                f"no file or folder {path!r} in the {volume_label(pod)}", ExitCode.NOT_FOUND
            )
        nodes = node_children(node) if node_is_dir(node) else [node]
    if state.json:
        print_json(nodes)
        return
    echo(style(f"{pod or '(default)'}:{shown_path}", bold=True))
    if not nodes:
        echo(style("(empty)", dim=True))
        return
    for line in tree_lines(nodes, ascii_only=not can_encode("├└│")):
        echo(line)
    files, dirs, size = _count(nodes)
    echo(style(f"{files} file(s), {dirs} folder(s), {human_bytes(size)}", dim=True))


@command("uplink")
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    metavar="FILE|DIR...",
    type=click.Path(exists=True, readable=True, path_type=Path),
)
@click.option(
    "--dest",
    default="",
    metavar="DIR",
    help="Folder in the volume to put them in [default: the volume root].",
)
@pod_option
@json_option
def uplink(paths: tuple[Path, ...], dest: str, pod: str | None) -> None:
    """Send local files or folders (recursively) to a volume.

    File modes are not sent: an uplinked script is not executable there (nor with the
    EM's own uplink). Run it as '/bin/sh /data/run.sh', or 'RUN chmod +x' it in the
    Dockerfile.

    \b
    Example:
      dphi-em uplink ./echo-test data.bin --dest inputs --pod job1
    """
    state = get_state()
    with open_client(state) as em, progress_for(state, "uplink") as progress:
        result = em.uplink(list(paths), dest_path=dest, pod_name=pod, progress=progress)
    if state.json:
        print_json(result)
    elif not state.quiet:
        where = f"{volume_label(pod)}, folder '{dest}'" if dest else volume_label(pod)
        echo(
            f"Uplinked {result.file_count} file(s), {human_bytes(result.total_bytes)}, "
            f"to the {where}."
        )


@command("downlink")
@click.argument("paths", nargs=-1, required=True, metavar="PATH|DIR...")
@click.option(
    "-o",
    "--output",
    "folder",
    default="downlink",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Local folder to write into (created if missing; the library's default too).",
)
@click.option("--overwrite", is_flag=True, help="Replace local files that exist.")
@pod_option
@json_option
def downlink(paths: tuple[str, ...], folder: Path, overwrite: bool, pod: str | None) -> None:
    """Fetch files or folders of a volume into a local folder.

    A folder is fetched recursively, its tree kept: DIR becomes OUTPUT/DIR's name (the
    volume root, '/', becomes OUTPUT). A cut transfer resumes where it stopped when run
    again.

    \b
    Examples:
      dphi-em downlink results/out.txt --pod job1
      dphi-em downlink results -o ./run1 --pod job1
    """
    names: dict[str, str] = {}
    for path in paths:  # one local name each, else the second would replace the first
        name = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
        if name in names and name.strip("."):
            raise CLIError(
                f"{names[name]!r} and {path!r} would both be written as {str(folder / name)!r}; "
                "fetch their common folder (dphi-em downlink DIR keeps the tree) or run "
                "twice with different -o folders (nothing fetched)",
                ExitCode.USAGE,
            )
        names.setdefault(name, path)
    state = get_state()
    written: list[dict[str, object]] = []
    with open_client(state) as em:
        from dphi_em._download import kept_partial, resume_key

        tree = list(em.files_list(pod_name=pod))
        for path in paths:
            node = find_node(tree, path) if path.strip("/.") else None
            is_dir = not path.strip("/.") or (node is not None and node_is_dir(node))
            with progress_for(state, "downlink") as progress:
                options: dict[str, Any] = {  # a file's or a folder's: the same
                    "downlink_folder": folder,
                    "pod_name": pod,
                    "overwrite": overwrite,
                    "progress": progress,
                }
                try:
                    if is_dir:
                        result = em.downlink_folder(path, **options)
                    else:
                        key = resume_key(str(em.base_url), pod, path)
                        resumed = kept_partial(folder, path, key)
                        try:
                            local = em.downlink(path, **options)
                        except KeyboardInterrupt:
                            kept = kept_partial(folder, path, key)
                            if kept:
                                info(
                                    f"Interrupted: the {human_bytes(kept)} received of {path} "
                                    f"are kept in {folder} (a hidden partial file); run the "
                                    "same command again to resume.",
                                    quiet=state.quiet,
                                )
                            raise
                        if resumed:
                            info(
                                f"Resumed {path} after the {human_bytes(resumed)} kept.",
                                quiet=state.quiet or state.json,
                            )
                except FileExistsError as exc:  # the facade's LocalFileExistsError
                    what = str(exc).split(";")[0].rstrip(".")
                    raise CLIError(
                        f"{what}; use --overwrite to replace it", ExitCode.USAGE
                    ) from exc
            if is_dir:
                written.append(
                    {
                        "path": path,
                        "local": str(result.local_dir),
                        "files": [str(p) for p in result.files],
                        "bytes": result.total_bytes,
                    }
                )
                if not state.json and not state.quiet:
                    echo(
                        f"Downlinked {path.strip('/') + '/' if path.strip('/') else '/'} -> "
                        f"{result.local_dir} "
                        f"({len(result.files)} file(s), {human_bytes(result.total_bytes)})"
                    )
            else:
                written.append({"path": path, "local": str(local)})
                if not state.json and not state.quiet:
                    echo(f"Downlinked {path} -> {local}")
    if state.json:
        print_json(written)


def _not_found(exc: BaseException) -> bool:
    """Whether a refused deletion means the path does not exist (the EM answers 400)."""
    return getattr(exc, "status_code", None) == 404 or (
        getattr(exc, "code", None) == "DELETE_FAILED" and "not found" in str(exc).lower()
    )


@command("rm")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "-r", "--recursive", is_flag=True, help="Delete folders too, with everything in them."
)
@pod_option
def rm(paths: tuple[str, ...], recursive: bool, pod: str | None) -> None:
    """Delete files (and with -r folders) from a volume.

    Every PATH is checked first: if one does not exist (exit 4) or is a folder without -r
    (exit 2), nothing is deleted.

    \b
    Examples:
      dphi-em rm results/out.txt results/log.txt --pod job1
      dphi-em rm -r results --pod job1
    """
    for path in paths:
        if not path.strip().strip("/."):
            raise click.BadParameter(
                f"{path!r} is the volume root; name a file or folder in it", param_hint="'PATH'"
            )
    state = get_state()
    deleted: list[dict[str, str]] = []
    with open_client(state) as em:
        tree = list(em.files_list(pod_name=pod))
        kinds: dict[str, str] = {}
        for path in paths:
            node = find_node(tree, path)
            if node is None:
                raise CLIError(
                    f"no file or folder {path!r} in the {volume_label(pod)}; nothing deleted",
                    ExitCode.NOT_FOUND,
                )
            if node_is_dir(node) and not recursive:
                raise CLIError(
                    f"{path!r} is a folder; use 'rm -r' to delete it with its contents "
                    "(nothing deleted)",
                    ExitCode.USAGE,
                )
            kinds[path] = "directory" if node_is_dir(node) else "file"
        for path in paths:
            try:
                em.delete(path, pod_name=pod)
            except Exception as exc:
                if _not_found(exc):  # gone since the listing
                    raise CLIError(
                        f"no file or folder {path!r} in the {volume_label(pod)}",
                        ExitCode.NOT_FOUND,
                    ) from exc
                raise
            deleted.append({"path": path, "type": kinds[path]})
            if not state.quiet and not state.json:
                echo(f"Deleted {path} from the {volume_label(pod)}.")
    if state.json:
        print_json({"pod": pod, "deleted": deleted})


COMMANDS = [ls, uplink, downlink, rm]
