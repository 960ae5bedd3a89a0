"""Human and machine output.

Human output goes through ``click.echo``, which drops colours when the stream is not a
terminal (or ``NO_COLOR`` is set); tables and trees are aligned on their plain text. ``--json``
prints one JSON document on stdout (``status --watch --json`` prints one per line).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from dphi_em._models import FileNode

#: Control and format characters (Unicode Cc, and the Cf bidi/zero-width ones): a name or a
#: message from the server holding an escape sequence must not drive the user's terminal.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def printable(text: object) -> str:
    """`text` with control and format characters shown as `?` (for human output only)."""
    return _UNPRINTABLE.sub("?", str(text))


def color_enabled() -> bool | None:
    """False when ``NO_COLOR`` is set (https://no-color.org), else click decides (tty)."""
    return False if os.environ.get("NO_COLOR") else None


def echo(text: str = "", *, err: bool = False) -> None:
    """Print one line (styles dropped when not a terminal)."""
    click.echo(text, err=err, color=color_enabled())


def info(text: str, *, quiet: bool = False) -> None:
    """A progress or confirmation message on stderr, silenced by ``--quiet``."""
    if not quiet:
        echo(text, err=True)


def style(text: str, **styles: Any) -> str:
    return click.style(text, **styles)


def to_plain(obj: Any) -> Any:
    """``obj`` as JSON-ready data: dicts, lists, strings, numbers, booleans, None."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, enum.Enum):
        return to_plain(obj.value)
    if isinstance(obj, (dt.datetime, dt.date, dt.time)):
        return obj.isoformat()
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in obj]
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_plain(to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_plain(dataclasses.asdict(obj))
    if hasattr(obj, "__attrs_attrs__"):
        import attrs

        return to_plain(attrs.asdict(obj, recurse=False))
    return str(obj)


def print_json(data: Any, *, lines: bool = False) -> None:
    """Print ``data`` as JSON on stdout (indented, or on one line when ``lines``)."""
    text = json.dumps(to_plain(data), indent=None if lines else 2, ensure_ascii=False)
    click.echo(text)


def human_bytes(size: int | float | str | None) -> str:
    """``1536`` -> ``1.5 KiB``; an unknown size -> ``-``."""
    try:
        value = float(size)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    if value < 1024:
        return f"{int(value)} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}"
    return f"{value:.1f} TiB"  # pragma: no cover


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    styles: Mapping[int, Mapping[str, Any]] | None = None,
    right: Iterable[int] = (),
) -> list[str]:
    """Aligned table lines: a bold header, then one line per row.

    Args:
        headers: Column titles.
        rows: Cells, as plain text.
        styles: ``click.style`` keyword arguments per column index.
        right: Column indexes aligned right.
    """
    body = [[printable(cell) for cell in r] for r in rows]
    widths = [len(h) for h in headers]
    for row in body:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    right_cols = set(right)
    styles = styles or {}

    def fmt(cells: Sequence[str], header: bool) -> str:
        out = []
        last = len(cells) - 1
        for i, cell in enumerate(cells):
            padded = cell.rjust(widths[i]) if i in right_cols else cell.ljust(widths[i])
            if i == last and i not in right_cols:
                padded = cell
            if header:
                padded = style(padded, bold=True)
            elif i in styles:
                padded = style(padded, **styles[i])
            out.append(padded)
        return "  ".join(out).rstrip()

    return [fmt(list(headers), True)] + [fmt(row, False) for row in body]


def node_is_dir(node: FileNode) -> bool:
    return node.is_dir


def node_name(node: FileNode) -> str:
    return printable(node.name)


def node_size(node: FileNode) -> int:
    """A node's size in bytes (0 when unknown)."""
    return node.size or 0


def node_children(node: FileNode) -> list[FileNode]:
    return list(node.contents)


def human_time(value: dt.datetime | None) -> str:
    """A file's modification time as ``YYYY-MM-DD HH:MM`` (empty when unknown)."""
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def find_node(nodes: Sequence[FileNode], path: str) -> FileNode | None:
    """The node at ``path`` (``a/b/c``) in a file tree, or None."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    current: FileNode | None = None
    level = list(nodes)
    for part in parts:
        current = next((n for n in level if node_name(n) == part), None)
        if current is None:
            return None
        level = node_children(current)
    return current


def tree_lines(nodes: Sequence[FileNode], *, ascii_only: bool = False) -> list[str]:
    """A tree view of a file listing: names, sizes and times in aligned columns."""
    tee, last, pipe, blank = (
        ("|-- ", "`-- ", "|   ", "    ") if ascii_only else ("├── ", "└── ", "│   ", "    ")
    )
    rows: list[tuple[str, str, bool, str, str]] = []

    def walk(level: Sequence[FileNode], prefix: str) -> None:
        ordered = sorted(level, key=lambda n: (not node_is_dir(n), node_name(n)))
        for i, node in enumerate(ordered):
            is_last = i == len(ordered) - 1
            is_dir = node_is_dir(node)
            name = node_name(node) + ("/" if is_dir else "")
            size = human_bytes(node.size)
            when = human_time(node.modified)
            rows.append((prefix + (last if is_last else tee), name, is_dir, size, when))
            if is_dir:
                walk(node_children(node), prefix + (blank if is_last else pipe))

    walk(nodes, "")
    label_width = max((len(p) + len(n) for p, n, _, _, _ in rows), default=0)
    size_width = max((len(s) for _, _, _, s, _ in rows), default=0)
    lines = []
    for prefix, name, is_dir, size, when in rows:
        pad = " " * (label_width - len(prefix) - len(name))
        shown = style(name, fg="blue", bold=True) if is_dir else name
        meta = style(f"{size.rjust(size_width)}  {when}".rstrip(), dim=True)
        lines.append(f"{prefix}{shown}{pad}  {meta}")
    return lines


def can_encode(text: str) -> bool:
    """Whether stdout can print ``text`` (box-drawing characters on old consoles)."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True
