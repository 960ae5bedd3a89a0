"""Streaming uplink and downlink.

Uplink: the local paths are checked and planned before anything is sent (every path
exists and is a readable regular file or a folder, recursed with its structure kept; no
file over the per-call limit), then sent as one `multipart/form-data` stream per batch:
files are read from disk in 1 MiB chunks, the body's exact `Content-Length` is computed in
advance, the boundary is random, and each attempt reopens the files (so a retried request
is sent whole). The server keeps only a part's base name, so files are batched per
destination folder (`dest_path`), under the byte limit and the file-count limit.

Downlink: the body is streamed into a temporary file in the target folder, its length is
checked against `Content-Length`, and only then renamed into place: a failed or cut stream
leaves nothing behind. The file name comes from `Content-Disposition` (RFC 6266, `filename*`
first), reduced to a safe base name, else from the requested path.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import posixpath
import re
import secrets
import stat
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import unquote

import attrs
import httpx

from ._config import CHUNK_SIZE
from ._errors import (
    FileTooLargeError,
    IncompleteDownloadError,
    LocalFileExistsError,
    ValidationError,
)

__all__ = [
    "GATHER_SIZE",
    "MAX_FILES_PER_CALL",
    "MultipartFileStream",
    "Progress",
    "ProgressCallback",
    "UplinkFile",
    "content_disposition_filename",
    "plan_uplink",
    "receive_download",
    "safe_file_name",
]

#: Small parts are gathered into pieces of this size before they are sent.
GATHER_SIZE = 64 * 1024

#: Django refuses more than 100 files in one request (`DATA_UPLOAD_MAX_NUMBER_FILES`).
MAX_FILES_PER_CALL = 100

#: Called with (bytes done, bytes in all) as a transfer progresses.
ProgressCallback = Callable[[int, int], None]

_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)
_DRIVE = re.compile(r"^[A-Za-z]:")
_CD_PARAM = re.compile(
    r""";\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)""", re.DOTALL
)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
#: What a part's file name cannot carry: quotes, backslashes, control characters (Unicode Cc).
_UNSENDABLE = re.compile(r'["\\\x00-\x1f\x7f-\x9f]')


class Progress:
    """Reports transfer progress to a callback and/or a tqdm bar.

    Args:
        total: Bytes in all.
        callback: Called with (done, total) after each chunk.
        bar: Show a tqdm progress bar on stderr.
        description: The bar's label.
    """

    def __init__(
        self, total: int, callback: ProgressCallback | None, *, bar: bool, description: str
    ) -> None:
        self.total = total
        self.done = 0
        self._callback = callback
        self._bar = None
        if bar:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=description
            )

    def set_total(self, total: int) -> None:
        """Set the bytes in all once known (a download learns it from its headers)."""
        self.total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def set(self, done: int) -> None:
        """Set the bytes done (a retried request starts again from its first byte)."""
        self.advance(done - self.done)

    def advance(self, count: int) -> None:
        """Count `count` more bytes."""
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        if self._callback is not None:
            self._callback(self.done, self.total)

    def close(self) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()


# -- uplink ----------------------------------------------------------------------------------


@attrs.frozen
class UplinkFile:
    """One local file to send, and the volume folder it goes to ("" is the root)."""

    path: Path
    size: int
    dest_dir: str

    @property
    def name(self) -> str:
        """The file's name (the server keeps it under `dest_dir`)."""
        return self.path.name

    @property
    def dest(self) -> str:
        """The file's path in the volume."""
        return _join(self.dest_dir, self.name)


def _join(folder: str, name: str) -> str:
    return f"{folder.rstrip('/')}/{name}" if folder.strip("/") else name


def _check_name(path: Path) -> None:
    if _UNSENDABLE.search(path.name):
        raise ValidationError(
            f"Cannot uplink {str(path)!r}: its name holds a quote, a backslash or a control "
            "character, which the server would not keep. Rename it first."
        )


def _regular_file(path: Path, st: os.stat_result, max_bytes: int) -> None:
    if not os.access(path, os.R_OK):
        raise ValidationError(f"Cannot uplink {str(path)!r}: the file is not readable.")
    if st.st_size > max_bytes:
        raise FileTooLargeError(
            f"Cannot uplink {str(path)!r}: {st.st_size} bytes is over the per-call limit "
            f"of {max_bytes} bytes."
        )
    _check_name(path)


def _collect(
    path: Path, dest_dir: str, max_bytes: int, seen: set[tuple[int, int]]
) -> Iterator[UplinkFile]:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ValidationError(f"Cannot uplink {str(path)!r}: no such file or folder.") from None
    except OSError as exc:
        raise ValidationError(f"Cannot uplink {str(path)!r}: {exc.strerror}.") from exc
    if stat.S_ISREG(st.st_mode):
        _regular_file(path, st, max_bytes)
        yield UplinkFile(path, st.st_size, dest_dir)
    elif stat.S_ISDIR(st.st_mode):
        if (st.st_dev, st.st_ino) in seen:  # a link back up the tree: already sent
            return
        seen.add((st.st_dev, st.st_ino))
        if not os.access(path, os.R_OK | os.X_OK):
            raise ValidationError(f"Cannot uplink {str(path)!r}: the folder is not readable.")
        folder = _join(dest_dir, path.resolve().name if path.name in ("", ".", "..") else path.name)
        for child in sorted(path.iterdir(), key=lambda p: p.name):
            yield from _collect(child, folder, max_bytes, seen)
    else:
        raise ValidationError(f"Cannot uplink {str(path)!r}: not a regular file or a folder.")


def plan_uplink(
    filepaths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    dest_path: str,
    *,
    max_bytes: int,
    max_files: int = MAX_FILES_PER_CALL,
) -> list[list[UplinkFile]]:
    """Check the local paths and split them into calls.

    A folder is sent with its own name under `dest_path`, its tree kept. Each call holds
    files of one destination folder only, at most `max_files` of them and at most
    `max_bytes` of content.

    Args:
        filepaths: One path or several: files or folders.
        dest_path: The volume folder to put them in ("" is the root).
        max_bytes: Most file bytes in one call.
        max_files: Most files in one call.

    Returns:
        The batches, in order; each non-empty.

    Raises:
        ValidationError: A path is missing, unreadable or not a file or folder, two files
            would land on the same path in the volume, or nothing is left to send.
        FileTooLargeError: One file is over `max_bytes`.
    """
    if isinstance(filepaths, (str, os.PathLike)):
        filepaths = [filepaths]
    if not filepaths:
        raise ValidationError("Nothing to uplink: no file paths were given.")
    if not isinstance(dest_path, str):
        raise ValidationError(f"dest_path must be a string, not {type(dest_path).__name__}.")
    files: list[UplinkFile] = []
    seen: set[tuple[int, int]] = set()
    for raw in filepaths:
        if not isinstance(raw, (str, os.PathLike)):
            raise ValidationError(f"Not a file path: {raw!r}.")
        files.extend(_collect(Path(raw), dest_path, max_bytes, seen))
    if not files:
        raise ValidationError("Nothing to uplink: the folders given hold no files.")
    first: dict[str, UplinkFile] = {}
    for item in files:
        earlier = first.setdefault(item.dest, item)
        if earlier is not item:
            raise ValidationError(
                f"Cannot uplink both {str(earlier.path)!r} and {str(item.path)!r}: both would "
                f"land on {item.dest!r} in the volume, the second replacing the first. "
                "Uplink them in separate calls with different dest_path folders."
            )
    groups: dict[str, list[UplinkFile]] = {}
    for item in files:
        groups.setdefault(item.dest_dir, []).append(item)
    batches: list[list[UplinkFile]] = []
    for group in groups.values():
        batch: list[UplinkFile] = []
        size = 0
        for item in group:
            if batch and (size + item.size > max_bytes or len(batch) >= max_files):
                batches.append(batch)
                batch, size = [], 0
            batch.append(item)
            size += item.size
        batches.append(batch)
    return batches


def _quote(value: str) -> bytes:
    # What browsers (and httpx) do in multipart headers: percent-escape `"`, CR and LF.
    return value.translate({0x22: "%22", 0x0D: "%0D", 0x0A: "%0A"}).encode("utf-8")


class MultipartFileStream(httpx.SyncByteStream):
    """A `multipart/form-data` body read from disk chunk by chunk, re-iterable.

    Args:
        fields: Plain fields, sent first, in order.
        files: The files, each as a part named `files`.
        on_start: Called when an attempt starts (progress goes back to this batch's start).
        on_chunk: Called with each chunk's size once it was handed to the transport.
        chunk_size: Bytes read at a time.
        gather_size: Smaller pieces are gathered up to this size before they are handed over.
    """

    def __init__(
        self,
        fields: Sequence[tuple[str, str]],
        files: Sequence[UplinkFile],
        *,
        on_start: Callable[[], None] | None = None,
        on_chunk: Callable[[int], None] | None = None,
        chunk_size: int = CHUNK_SIZE,
        gather_size: int = GATHER_SIZE,
    ) -> None:
        self.boundary = secrets.token_hex(16)
        dash = b"--" + self.boundary.encode("ascii")
        self._pieces: list[bytes | UplinkFile] = []
        for name, value in fields:
            self._pieces.append(
                dash
                + b'\r\nContent-Disposition: form-data; name="'
                + _quote(name)
                + b'"\r\n\r\n'
                + value.encode("utf-8")
                + b"\r\n"
            )
        first = True
        for item in files:
            head = dash + b'\r\nContent-Disposition: form-data; name="files"; filename="'
            head += _quote(item.name) + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
            self._pieces.append(head if first else b"\r\n" + head)
            self._pieces.append(item)
            first = False
        self._pieces.append((b"\r\n" if files else b"") + dash + b"--\r\n")
        self.content_length = sum(
            p.size if isinstance(p, UplinkFile) else len(p) for p in self._pieces
        )
        self._on_start = on_start
        self._on_chunk = on_chunk
        self._chunk_size = chunk_size
        self._gather_size = min(gather_size, chunk_size)

    @property
    def headers(self) -> dict[str, str]:
        """The `Content-Type` and `Content-Length` headers of this body."""
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(self.content_length),
        }

    def __iter__(self) -> Iterator[bytes]:
        """The body: part headers and small files gathered, large files' chunks as read.

        Pieces smaller than `gather_size` are gathered up to that size, so that a thousand
        small files take about sixty sends rather than two thousand, while the first bytes
        still leave early enough for the server to parse while the rest is read. A large
        file's chunks (`chunk_size`) are handed over as read, without a copy.
        """
        if self._on_start is not None:
            self._on_start()
        report = self._on_chunk or _ignore
        chunk_size = self._chunk_size
        gather_size = self._gather_size
        pending = bytearray()
        pending_file_bytes = 0
        for piece in self._pieces:
            is_file = isinstance(piece, UplinkFile)
            chunks = _read_file(piece, chunk_size) if isinstance(piece, UplinkFile) else [piece]
            for chunk in chunks:
                if len(pending) + len(chunk) > gather_size and pending:
                    yield bytes(pending)
                    report(pending_file_bytes)
                    pending.clear()
                    pending_file_bytes = 0
                file_bytes = len(chunk) if is_file else 0
                if len(chunk) >= gather_size:
                    yield chunk
                    report(file_bytes)
                else:
                    pending += chunk
                    pending_file_bytes += file_bytes
        if pending:
            yield bytes(pending)
            report(pending_file_bytes)


def _ignore(count: int) -> None:
    """A progress callback that does nothing."""


def _read_file(item: UplinkFile, chunk_size: int) -> Iterator[bytes]:
    """The file's bytes in chunks; exactly the size planned, or `ValidationError`."""
    with open(item.path, "rb", buffering=0) as file:
        remaining = item.size
        while remaining:
            chunk = file.read(min(chunk_size, remaining))
            if not chunk:
                raise ValidationError(f"{str(item.path)!r} shrank while uplinking.")
            remaining -= len(chunk)
            yield chunk
        if file.read(1):
            raise ValidationError(f"{str(item.path)!r} grew while uplinking.")


# -- downlink --------------------------------------------------------------------------------


def safe_file_name(name: str | None) -> str | None:
    """Reduce a server-given name to a safe base name, or None when it must be refused.

    Any folder part is dropped; a name with a `..` segment, a drive letter, a control
    character, a Windows device name, or nothing left is refused.
    """
    if not name or any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        return None
    if _DRIVE.match(name):
        return None
    parts = [part.strip() for part in name.replace("\\", "/").split("/")]
    if ".." in parts:
        return None
    base = parts[-1]
    if base in ("", ".") or len(base.encode("utf-8")) > 255:
        return None
    if base.split(".")[0].upper() in _WINDOWS_RESERVED or (os.name == "nt" and ":" in base):
        return None
    return base


def content_disposition_filename(header: str | None) -> str | None:
    """The file name of a `Content-Disposition` header (RFC 6266), made safe, or None.

    `filename*` (RFC 8187, `charset'lang'percent-encoded`) is preferred to `filename`.
    """
    if not header:
        return None
    params: dict[str, str] = {}
    for match in _CD_PARAM.finditer(header):
        key, value = match.group(1).lower(), match.group(2).strip()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = _QUOTED_PAIR.sub(r"\1", value[1:-1])
        params.setdefault(key, value)
    extended = params.get("filename*")
    if extended is not None:
        charset, _, rest = extended.partition("'")
        _, _, encoded = rest.partition("'")
        try:
            codecs.lookup(charset or "utf-8")
            decoded = unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            decoded = None
        if decoded is not None:
            return safe_file_name(decoded)
    return safe_file_name(params.get("filename"))


def receive_download(
    response: httpx.Response,
    folder: Path,
    requested: str,
    *,
    overwrite: bool,
    progress: Progress | None,
) -> Path:
    """Stream a successful downlink response into `folder`; return the file's path.

    Raises:
        ValidationError: Neither the server nor the requested path gives a usable name.
        LocalFileExistsError: The target exists and `overwrite` is False.
        IncompleteDownloadError: The body was shorter than `Content-Length` or broke off.
    """
    name = content_disposition_filename(response.headers.get("Content-Disposition"))
    if name is None:
        name = safe_file_name(posixpath.basename(requested.replace("\\", "/")))
    if name is None:
        raise ValidationError(f"Cannot name a local file after {requested!r}.")
    target = folder / name
    if not overwrite and os.path.lexists(target):
        raise LocalFileExistsError(f"{str(target)!r} exists; pass overwrite=True to replace it.")
    length = response.headers.get("Content-Length")
    expected = int(length) if length is not None and length.isdigit() else None
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    if progress is not None and expected is not None:
        progress.set_total(expected)
    # at most 100 bytes of the name: with the rest, well under the usual 255-byte limit
    hint = name.encode("utf-8")[:100].decode("utf-8", "ignore")
    temp = folder / f".{hint}.{secrets.token_hex(6)}.part"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    received = 0
    try:
        with open(fd, "wb", buffering=CHUNK_SIZE) as out:
            if response.is_stream_consumed:  # read already (an in-memory response)
                chunks: Iterator[bytes] = iter([response.content])
            else:
                chunks = response.iter_bytes() if encoded else response.iter_raw()
            try:
                for chunk in chunks:
                    out.write(chunk)
                    received += len(chunk)
                    if progress is not None:
                        progress.advance(len(chunk))
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                raise IncompleteDownloadError(
                    f"The download of {requested!r} broke off after {received} bytes: {exc}"
                ) from exc
        if not encoded and expected is not None and received != expected:
            raise IncompleteDownloadError(
                f"The download of {requested!r} ended after {received} of {expected} bytes."
            )
        if not overwrite and os.path.lexists(target):
            raise LocalFileExistsError(
                f"{str(target)!r} appeared during the download; pass overwrite=True."
            )
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return target
