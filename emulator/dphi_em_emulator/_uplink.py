"""`POST /em/files/uplink`: a streaming multipart parser that writes file parts to disk.

The body is fed chunk by chunk from the socket to python-multipart's streaming parser; each
file part goes to its own temporary file in the data dir's staging folder (same file system
as the volumes), counted against the per-call limit as it arrives. Only when the whole body
is in and valid are the files renamed into the volume. On any failure (limit, bad request,
client gone) the call's staging folder is removed: no partial file is ever left behind, and
no upload is ever held in memory.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from ._errors import (
    INVALID_PARAMETERS,
    INVALID_PATH,
    MAX_UPLINK_SIZE_EXCEEDED,
    NO_FILES,
    EMError,
)
from ._storage import check_name_lengths, resolve

#: Write buffer of each staged file.
_BUFFER = 1024 * 1024
#: Largest plain (non-file) field accepted, e.g. `dest_path`.
_MAX_FIELD = 64 * 1024
#: Most bytes of plain fields and of part headers in one body, all parts together.
_MAX_OVERHEAD = 1024 * 1024
#: The plain fields an uplink reads; others are counted, then dropped.
_KNOWN_FIELDS = frozenset({"dest_path", "pod_name", "pvc_name"})


class _LimitExceeded(Exception):
    pass


@dataclass
class _Staged:
    filename: str
    path: Path
    size: int = 0


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    file: IO[bytes] | None = None
    staged: _Staged | None = None
    value: bytearray = field(default_factory=bytearray)


def _file_name(raw: bytes) -> str:
    """The base name of a part's file name (what Django keeps), or 400 when there is none."""
    name = raw.decode("utf-8", errors="replace").replace("\\", "/").rsplit("/", 1)[-1]
    if name in ("", ".", "..") or "\x00" in name:
        raise EMError(400, INVALID_PATH, f"Invalid file name {raw.decode(errors='replace')!r}.")
    check_name_lengths(name, [name])
    return name


class _Collector:
    """python-multipart callbacks: plain fields in memory, file parts to staged files."""

    def __init__(self, staging: Path, limit: int) -> None:
        self.staging = staging
        self.limit = limit
        self.total = 0
        self.overhead = 0
        self.fields: dict[str, str] = {}
        self.files: list[_Staged] = []
        self._part = _Part()
        self._header_name = bytearray()
        self._header_value = bytearray()

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }

    def on_part_begin(self) -> None:
        self._part = _Part()

    def _count_overhead(self, size: int) -> None:
        self.overhead += size
        if self.overhead > _MAX_OVERHEAD:
            raise EMError(
                400, INVALID_PARAMETERS, "Too many or too large part headers or plain fields."
            )

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_overhead(end - start)
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_overhead(end - start)
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._part.headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._part.headers.get(b"content-disposition"))
        self._part.name = options.get(b"name", b"").decode("utf-8", errors="replace")
        if b"filename" in options and self._part.name == "files":
            staged = _Staged(_file_name(options[b"filename"]), self.staging / str(len(self.files)))
            self.files.append(staged)
            self._part.staged = staged
            self._part.file = open(staged.path, "wb", buffering=_BUFFER)  # noqa: SIM115

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.file is not None and part.staged is not None:
            size = end - start
            self.total += size
            if self.total > self.limit:
                raise _LimitExceeded
            part.staged.size += size
            part.file.write(memoryview(data)[start:end])
        elif part.staged is None:
            self._count_overhead(end - start)
            if part.name not in _KNOWN_FIELDS:
                return  # counted, not kept
            part.value += data[start:end]
            if len(part.value) > _MAX_FIELD:
                raise EMError(400, INVALID_PARAMETERS, f"Field {part.name!r} is too long.")

    def on_part_end(self) -> None:
        part = self._part
        if part.file is not None:
            part.file.close()
            part.file = None
        elif part.staged is None and part.name in _KNOWN_FIELDS and part.name not in self.fields:
            self.fields[part.name] = part.value.decode("utf-8", errors="replace")

    def close(self) -> None:
        if self._part.file is not None:
            self._part.file.close()
            self._part.file = None


def _boundary(content_type: str) -> bytes | None:
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        return None
    boundary = options.get(b"boundary")
    if not boundary:
        raise EMError(400, INVALID_PARAMETERS, "Multipart form parse error - Invalid boundary.")
    return boundary


@dataclass
class UplinkBody:
    """A parsed uplink: its plain fields and its staged files."""

    fields: dict[str, str]
    files: list[_Staged]
    total: int


async def receive_uplink(
    content_type: str, stream: AsyncIterator[bytes], staging: Path, limit: int
) -> UplinkBody:
    """Parse the body, staging the file parts in `staging` (which the caller removes).

    Raises:
        EMError: `NO_FILES`, `MAX_UPLINK_SIZE_EXCEEDED` (after draining the body, so that the
            client reads the answer rather than a reset connection), or a malformed body.
    """
    boundary = _boundary(content_type)
    if boundary is None:
        raise EMError(400, NO_FILES, "No files were provided.")
    collector = _Collector(staging, limit)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in stream:
            parser.write(chunk)
        parser.finalize()
    except _LimitExceeded:
        collector.close()
        shutil.rmtree(staging, ignore_errors=True)
        async for _ in stream:
            pass
        raise EMError(
            400,
            MAX_UPLINK_SIZE_EXCEEDED,
            f"Maximum uplink size exceeded: at most {limit} bytes of files per call.",
        ) from None
    except FormParserError as exc:
        raise EMError(400, INVALID_PARAMETERS, f"Multipart form parse error - {exc}") from exc
    finally:
        collector.close()
    if not collector.files:
        raise EMError(400, NO_FILES, "No files were provided.")
    return UplinkBody(collector.fields, collector.files, collector.total)


#: Times an uplink makes a destination folder again that another request deleted meanwhile.
_RACE_ATTEMPTS = 5


def commit(volume: Path, dest_path: str, files: list[_Staged]) -> None:
    """Move the staged files into `dest_path` of `volume` (folders made as needed).

    Raises:
        EMError: 403 for a destination outside the volume; 400 when a file or folder is in
            the way, or when the destination is deleted or replaced meanwhile (another
            request, with the lock off).
    """
    dest = resolve(volume, dest_path)
    prefix = dest_path.rstrip("/")
    names = [f"{prefix}/{staged.filename}" if prefix else staged.filename for staged in files]
    targets = [resolve(volume, name) for name in names]
    changed = EMError(
        400,
        INVALID_PATH,
        f"dest_path {dest_path!r} changed while the files were being stored (deleted or "
        "replaced by another request); not all files were stored.",
    )
    for target in targets:  # before any file is stored: all or none
        if target.is_dir():
            raise EMError(400, INVALID_PATH, f"{target.name!r} is a folder in the volume.")
    for staged, target in zip(files, targets, strict=True):
        # Another request (the lock off) may delete or replace a folder of the destination
        # at any moment: a folder deleted while the folders are made is made again (a few
        # times); one deleted or replaced after that answers 400; never a 500.
        for _ in range(_RACE_ATTEMPTS):
            try:
                volume.mkdir(parents=True, exist_ok=True)
                dest.mkdir(parents=True, exist_ok=True)
                target.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise EMError(
                    400, INVALID_PATH, f"dest_path {dest_path!r} is not a folder."
                ) from None
            except FileNotFoundError:
                continue  # a parent deleted meanwhile: again
            except OSError as exc:
                raise changed from exc
            if target.is_dir():
                raise EMError(400, INVALID_PATH, f"{target.name!r} is a folder in the volume.")
            try:
                _move(staged.path, target)
                break
            except OSError as exc:
                raise changed from exc
        else:
            raise changed


def _move(source: Path, target: Path) -> None:
    """Rename a staged file into its place in the volume (same file system: atomic)."""
    source.replace(target)
