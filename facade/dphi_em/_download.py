"""Downlink: stream a response into a local file that appears whole or not at all.

`DownloadTarget` holds every decision and the local file: it names the file (from
`Content-Disposition`, RFC 6266, `filename*` first, reduced to a safe base name; else from
the requested path), refuses to replace a file unless asked, writes the body into a hidden
temporary file beside the target, checks the length against `Content-Length`, and only then
renames it into place. A completed file is only ever renamed into place whole.

Resume (when built with a `resume_key`, as the clients do): the temporary file is named
from the key (server, volume and path: `.NAME.<digest>.part`), so the next downlink of the
same file finds it. A cut transfer (a broken stream, a timeout, Ctrl-C, a cancelled task,
a callback that raised) keeps it, with a small `.part.json` beside it recording the
server's validator (`ETag`, else `Last-Modified`), the file's length, and the partial
file's own length and modification time; only when the server said `Accept-Ranges: bytes`
and gave a validator, so that resume can use it. The next downlink asks for the rest
(`Range: bytes=N-` with `If-Range: <validator>`): a `206` is appended only when its
`Content-Range` is exactly `N-(total-1)/total` for the recorded total and its validator is
the recorded one; a `200` (the file changed, or no range support), a `416`, or a `206`
without a validator (nothing proves it is the same version: RFC 9110) starts over
(`DownloadTarget.restart`); anything else is refused. A partial file whose length or
modification time differ from the record, or that has no record, is discarded. A local
failure (a full disk) and a refused answer remove it, as before.

`feed_download` (`httpx.Client`) and `afeed_download` (`httpx.AsyncClient`) only feed
it. Both read the raw body (`iter_raw`/`aiter_raw`): a `Content-Encoding` is never decoded,
so the file holds the bytes the server sent, checked against `Content-Length` (which counts
those bytes). Only a `200` is saved whole: a `206 Partial Content` to a request without
`Range` would otherwise be saved as the whole file.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import hashlib
import json
import os
import posixpath
import re
import secrets
import time
import unicodedata
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

import httpx

from ._config import CHUNK_SIZE
from ._errors import (
    APIError,
    EMError,
    IncompleteDownloadError,
    LocalFileExistsError,
    TransportError,
    ValidationError,
)
from ._exits import OnExit
from ._fastbody import PROGRESS_HOP_BYTES, DirectBody
from ._fastbody import settle as _settle  # one implementation for both drivers
from ._progress import Progress

__all__ = [
    "PARTIAL_NAME",
    "DownloadTarget",
    "afeed_download",
    "content_disposition_filename",
    "feed_download",
    "kept_partial",
    "partial_path",
    "resume_key",
    "safe_file_name",
]

#: Most buffers in one `os.writev` call (POSIX guarantees at least 16; Linux takes 1024).
_IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024) if hasattr(os, "sysconf") else 16

#: The names of resumable partial files and of their records (`.NAME.<digest>.part[.json]`).
PARTIAL_NAME = re.compile(r"^\..*\.[0-9a-f]{16}\.part(\.json)?$", re.DOTALL)
#: A partial file without a record, written to this recently, belongs to a running download.
_IN_PROGRESS_SECONDS = 15 * 60
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+([0-9]+)-([0-9]+)/([0-9]+)\s*$")


def resume_key(base_url: str, volume: str | None, filepath: str) -> str:
    """What names a file's partial download: the server, the volume and the path."""
    return f"{base_url}\x00{volume or ''}\x00{filepath.lstrip('/')}"


def partial_path(folder: Path, requested: str, key: str) -> Path:
    """The resumable partial file of a download (`.NAME.<digest>.part`) in `folder`."""
    hint = posixpath.basename(requested.replace("\\", "/")) or "download"
    hint = hint.encode("utf-8")[:100].decode("utf-8", "ignore")
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return Path(folder) / f".{hint}.{digest[:16]}.part"


def kept_partial(folder: Path, requested: str, key: str) -> int | None:
    """The bytes of a kept, resumable partial download (with its record), else None."""
    partial = partial_path(folder, requested, key)
    record = partial.with_name(partial.name + ".json")
    try:
        if not record.is_file():
            return None
        return os.lstat(partial).st_size or None
    except OSError:
        return None


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
_DIGITS = re.compile(r"[0-9]+")


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


def _content_length(response: httpx.Response) -> int | None:
    """The announced body length, None when absent (chunked), or `TransportError`."""
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    values = {part.strip() for part in value.split(",")}  # a repeated, identical header
    if len(values) != 1 or not _DIGITS.fullmatch(next(iter(values))):
        raise TransportError(f"The server sent an unusable Content-Length: {value[:40]!r}.")
    return int(next(iter(values)))


def _sent_range(response: httpx.Response) -> str | None:
    try:
        value: str | None = response.request.headers.get("Range")
    except RuntimeError:  # a response built by hand, without its request
        return None
    return value


def _validator(response: httpx.Response) -> str | None:
    """The response's strong validator for `If-Range`: a strong `ETag`, else `Last-Modified`."""
    etag: str | None = response.headers.get("ETag")
    if etag and not etag.startswith("W/") and len(etag) <= 200:
        return etag
    modified: str | None = response.headers.get("Last-Modified")
    if modified and len(modified) <= 100:
        return modified
    return None


def _keeps_partial(exc: BaseException | None) -> bool:
    """Whether a transfer that ended with `exc` keeps its partial file for a resume.

    Kept: a cut or stalled stream, Ctrl-C, a cancelled task, an exception of the caller's
    (a progress callback). Removed: a local failure (a full disk) and a refused answer.
    """
    if exc is None:
        return False
    if isinstance(exc, (TransportError, httpx.TransportError)):
        return True
    if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):
        return True
    return not isinstance(exc, (OSError, EMError))


class DownloadTarget(OnExit):
    """One downlink's local file: named, written aside, checked, then renamed into place.

    Every decision of a download, and its local file; a sync or an async driver only moves
    the body's bytes into it (no network I/O here). Use it as a context manager: leaving it
    without `commit()` (an exception, a cancelled task) calls `abort()`, which keeps a
    resumable partial file (see the module docs) or removes it.

    ```python
    with DownloadTarget(folder, "results/out.bin", overwrite=False, progress=None) as target:
        headers = target.resume_headers()  # {} or Range and If-Range, for the request
        target.open(response)
        with target.receiving():
            for chunk in response.iter_raw():
                target.write(chunk)
        path = target.commit()
    ```

    Args:
        folder: The local folder (must exist before `open`).
        requested: The file's path in the volume (names the file when the server does not).
        overwrite: Replace an existing local file.
        progress: Told the total (from `Content-Length`) and each chunk.
        resume_key: Names the partial file deterministically (see `resume_key()`), so that
            a cut download can be resumed; None: a random name, removed on any failure.
        name: The local file's name, checked as safe (a folder downlink names files after
            the volume's tree); None: from `Content-Disposition`, else from `requested`.
        own_total: Tell `progress` this file's total (False when it counts several files).

    Attributes:
        target: The final path, once `open` chose it.
        temp: The temporary file, while it exists.
        expected: The announced length of this body (None: unknown).
        received: Bytes of this body received so far.
        offset: Bytes already in the partial file when this body started (a resume).
    """

    def __init__(
        self,
        folder: Path,
        requested: str,
        *,
        overwrite: bool,
        progress: Progress | None,
        resume_key: str | None = None,
        name: str | None = None,
        own_total: bool = True,
    ) -> None:
        self.folder = Path(folder)
        self.requested = requested
        self.overwrite = overwrite
        self.progress = progress
        self.target: Path | None = None
        self.temp: Path | None = None
        self.expected: int | None = None
        self.received = 0
        self.offset = 0
        self._name = name
        self._own_total = own_total
        self._file: BinaryIO | None = None
        self._committed = False
        self._partial: Path | None = None
        self._record: dict[str, object] | None = None  # the partial's record, when resuming
        self._resumable: dict[str, object] | None = None  # what a kept partial records
        if resume_key is not None:
            self._partial = partial_path(self.folder, requested, resume_key)

    def _on_exit(self, exc: BaseException | None) -> None:
        if not self._committed:
            self.abort(keep_partial=_keeps_partial(exc))

    @property
    def _record_path(self) -> Path | None:
        return (
            None if self._partial is None else self._partial.with_name(self._partial.name + ".json")
        )

    def discard_partial(self) -> None:
        """Remove a partial file and its record (a resume that cannot be used)."""
        self._record = None
        for path in (self._partial, self._record_path):
            if path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(path)

    def resume_headers(self) -> dict[str, str]:
        """The headers that ask for the rest of a kept partial file, or `{}`.

        A partial file is used only with its record, when its length and modification time
        are those recorded and it is shorter than the file; otherwise both are removed. A
        partial file without a record that was written to lately is another download of the
        same file still running: it is left alone (this one then uses a name of its own).
        """
        self._record = None
        partial, record_path = self._partial, self._record_path
        if partial is None or record_path is None:
            return {}
        if not os.path.lexists(partial) and not os.path.lexists(record_path):
            return {}
        try:
            record = json.loads(record_path.read_text("utf-8"))
            st = os.lstat(partial)
            usable = (
                isinstance(record, dict)
                and isinstance(record.get("validator"), str)
                and isinstance(record.get("total"), int)
                and record.get("size") == st.st_size
                and record.get("mtime_ns") == st.st_mtime_ns
                and 0 < st.st_size < record["total"]
                and os.path.isfile(partial)
                and not os.path.islink(partial)
            )
        except (OSError, ValueError):
            usable = False
        if not usable:
            if os.path.lexists(partial) and not os.path.lexists(record_path):
                with contextlib.suppress(OSError):
                    if time.time() - os.lstat(partial).st_mtime < _IN_PROGRESS_SECONDS:
                        return {}
            self.discard_partial()
            return {}
        self._record = record
        return {"Range": f"bytes={record['size']}-", "If-Range": str(record["validator"])}

    def restart(self, response: httpx.Response) -> bool:
        """Whether the answer to a resume request is no use, so the download starts over.

        True (the partial file and its record are removed; send the request again without
        `resume_headers()`) for a `416` to a resume request, and for a `206` that carries
        no validator while the partial file was recorded with one: RFC 9110 (13.1.5) has
        the server send the same validator with a `206`; without it nothing shows the part
        belongs to the same version of the file, and appending it could corrupt the file.
        """
        if self._record is None or _sent_range(response) is None:
            return False
        if response.status_code == 416 or (
            response.status_code == 206 and _validator(response) is None
        ):
            self.discard_partial()
            return True
        return False

    def _refuse(self, response: httpx.Response, why: str) -> APIError:
        self.discard_partial()
        return APIError(
            f"The server answered the downlink of {self.requested!r} with {why}: refusing "
            "to save it (the partial download was discarded; the next call starts over).",
            status_code=response.status_code,
            response=response,
        )

    def _check_range(self, response: httpx.Response) -> int:
        """The offset a `206` continues from, checked against the partial file's record."""
        record = self._record
        if record is None or _sent_range(response) is None:
            raise APIError(
                f"The server answered the downlink of {self.requested!r} with 206 Partial "
                "Content although no range was asked: refusing to save part of a file as "
                "the whole.",
                status_code=206,
                response=response,
            )
        value = response.headers.get("Content-Range", "")
        match = _CONTENT_RANGE.match(value)
        size, total = record["size"], record["total"]
        if match is None or (int(match[1]), int(match[2]), int(match[3])) != (
            size,
            int(str(total)) - 1,
            total,
        ):
            raise self._refuse(
                response, f"206 Content-Range {value[:60]!r} where bytes {size}-/{total} were asked"
            )
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding != "identity":
            raise self._refuse(response, f"an encoded ({encoding[:20]!r}) partial body")
        validator = _validator(response)
        if validator is None:  # the clients start over first (see `restart`)
            raise self._refuse(response, "a 206 without a validator to check it against")
        if validator != record["validator"]:
            raise self._refuse(response, "a 206 of another version of the file")
        return int(str(size))

    def open(self, response: httpx.Response) -> None:
        """Check the response and the local side, then create (or reopen) the temporary file.

        Raises:
            APIError: Not a `200`, or a `206` that does not continue the partial file.
            TransportError: An unusable `Content-Length`.
            ValidationError: Neither the server nor the requested path gives a usable name.
            LocalFileExistsError: The target exists and `overwrite` is False.
        """
        if self._file is not None or self._committed:
            raise RuntimeError("DownloadTarget.open() was already called.")
        status = response.status_code
        offset = 0
        if status == 206:
            offset = self._check_range(response)
        elif status != 200:
            raise APIError(
                f"The server answered the downlink of {self.requested!r} with {status} "
                f"{response.reason_phrase}; only a 200 carries the whole file.",
                status_code=status,
                response=response,
            )
        if self._name is not None:
            name = safe_file_name(self._name)
            if name != self._name:
                raise ValidationError(f"Cannot name a local file {self._name!r}.")
        else:
            name = content_disposition_filename(response.headers.get("Content-Disposition"))
            if name is None:
                name = safe_file_name(posixpath.basename(self.requested.replace("\\", "/")))
        if name is None:
            raise ValidationError(f"Cannot name a local file after {self.requested!r}.")
        target = self.folder / name
        if not self.overwrite and os.path.lexists(target):
            raise LocalFileExistsError(
                f"{str(target)!r} exists; pass overwrite=True to replace it."
            )
        self.expected = _content_length(response)
        record = self._record
        if status == 206 and self.expected is not None and record is not None:  # noqa: SIM102
            if self.expected != int(str(record["total"])) - offset:
                raise self._refuse(response, f"a 206 of {self.expected} bytes")
        flags = os.O_WRONLY | getattr(os, "O_BINARY", 0)
        if self._partial is not None:
            temp = self._partial
            if offset:
                fd = os.open(temp, flags)
                os.lseek(fd, offset, os.SEEK_SET)
            else:  # start over: our partial file of an older version goes
                if self._record is not None:
                    self.discard_partial()
                try:
                    fd = os.open(temp, flags | os.O_CREAT | os.O_EXCL, 0o666)
                except FileExistsError:  # another download of it is running: not resumable
                    temp = self.folder / f".{temp.name[1:-5]}.{secrets.token_hex(6)}.tmp"
                    fd = os.open(temp, flags | os.O_CREAT | os.O_EXCL, 0o666)
            total = offset + self.expected if self.expected is not None else None
            validator = _validator(response)
            ranges = response.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
            if total is not None and validator is not None and (ranges or status == 206):
                self._resumable = {"validator": validator, "total": total}
            with contextlib.suppress(OSError):  # an old record is stale from here on
                os.unlink(str(self._record_path))
        else:
            # at most 100 bytes of the name: with the rest, well under the usual 255-byte limit
            hint = name.encode("utf-8")[:100].decode("utf-8", "ignore")
            temp = self.folder / f".{hint}.{secrets.token_hex(6)}.part"
            fd = os.open(temp, flags | os.O_CREAT | os.O_EXCL, 0o666)
        self.target, self.temp, self.offset = target, temp, offset
        self._file = open(fd, "wb", buffering=CHUNK_SIZE)  # noqa: SIM115 (closed by commit/abort)
        if self.progress is not None:
            if self._own_total and self.expected is not None:
                self.progress.set_total(offset + self.expected)
            if offset:
                self.progress.advance(offset)

    def account(self, chunk: bytes | bytearray | memoryview) -> None:
        """Count a chunk that arrived (length check, progress), without storing it yet.

        Raises:
            IncompleteDownloadError: More bytes than `Content-Length` announced.
        """
        self.account_size(len(chunk))

    def account_size(self, size: int) -> None:
        """Count `size` bytes that arrived, as `account` does."""
        self.received += size
        if self.expected is not None and self.received > self.expected:
            raise IncompleteDownloadError(
                f"The download of {self.requested!r} sent more than the {self.expected} "
                "bytes it announced."
            )
        if self.progress is not None and size:
            self.progress.advance(size)

    def store(self, data: bytes | bytearray) -> None:
        """Write counted bytes to the temporary file (blocking: an async driver runs it in
        a worker thread)."""
        if self._file is None:
            raise RuntimeError("DownloadTarget.open() must come first.")
        self._file.write(data)

    def store_many(self, chunks: Sequence[bytes | bytearray | memoryview]) -> None:
        """Write counted chunks to the temporary file in one `writev` call where the system
        has it (no copy through the file's buffer); blocking, as `store`."""
        if self._file is None:
            raise RuntimeError("DownloadTarget.open() must come first.")
        writev = getattr(os, "writev", None)
        if writev is None:
            for chunk in chunks:
                self._file.write(chunk)
            return
        self._file.flush()
        fd = self._file.fileno()
        pending = [memoryview(chunk) for chunk in chunks if chunk]
        while pending:
            written = writev(fd, pending[:_IOV_MAX])
            while pending and written >= len(pending[0]):
                written -= len(pending.pop(0))
            if written:
                pending[0] = pending[0][written:]

    def write(self, chunk: bytes) -> None:
        """Count a chunk and write it (`account`, then `store`)."""
        self.account(chunk)
        self.store(chunk)

    @contextlib.contextmanager
    def receiving(self) -> Iterator[None]:
        """Turn a body that breaks off into `IncompleteDownloadError` naming the bytes received."""
        try:
            yield
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise IncompleteDownloadError(
                f"The download of {self.requested!r} broke off after "
                f"{self.offset + self.received} bytes: {exc}"
            ) from exc

    def verify(self) -> None:
        """Check the bytes received against `Content-Length`.

        Raises:
            IncompleteDownloadError: Fewer (or more) bytes than announced.
        """
        if self.expected is not None and self.received != self.expected:
            raise IncompleteDownloadError(
                f"The download of {self.requested!r} ended after "
                f"{self.offset + self.received} of {self.offset + self.expected} bytes."
            )

    def commit(self) -> Path:
        """Verify, close and rename the temporary file into place; return the file's path.

        Without `overwrite`, a file that appeared at the target during the download is
        kept: the temporary file is hard-linked into place, which fails if the name exists
        (where the file system has no hard links: checked, then renamed).

        Raises:
            IncompleteDownloadError: See `verify`.
            LocalFileExistsError: The target appeared meanwhile and `overwrite` is False.
        """
        if self._file is None or self.temp is None or self.target is None:
            raise RuntimeError("DownloadTarget.open() must come first.")
        self.verify()
        self._file.close()
        temp, target = self.temp, self.target
        if self.offset and os.path.getsize(temp) != self.offset + self.received:
            raise IncompleteDownloadError(
                f"The resumed download of {self.requested!r} does not add up: "
                f"{os.path.getsize(temp)} bytes on disk, {self.offset + self.received} expected."
            )
        if self.overwrite:
            os.replace(temp, target)
        else:
            try:
                os.link(temp, target)
            except FileExistsError:
                raise LocalFileExistsError(
                    f"{str(target)!r} appeared during the download; pass overwrite=True."
                ) from None
            except OSError:  # no hard links here (FAT, some shares): check, then rename
                if os.path.lexists(target):
                    raise LocalFileExistsError(
                        f"{str(target)!r} appeared during the download; pass overwrite=True."
                    ) from None
                os.replace(temp, target)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
        self._committed = True
        self.temp = None
        return target

    def abort(self, *, keep_partial: bool = False) -> None:
        """Close the temporary file; keep it for a resume, or remove it (idempotent).

        Args:
            keep_partial: Keep a resumable partial file and write its record (only when the
                server gave a validator and range support, and some bytes arrived).
        """
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
        temp, self.temp = self.temp, None
        if temp is None or self._committed:
            return
        if keep_partial and temp == self._partial and self._resumable is not None:
            try:
                st = os.lstat(temp)
                if 0 < st.st_size < int(str(self._resumable["total"])):
                    record = dict(self._resumable, size=st.st_size, mtime_ns=st.st_mtime_ns)
                    record_path = self._record_path
                    assert record_path is not None
                    staging = record_path.with_name(record_path.name + ".tmp")
                    staging.write_text(json.dumps(record), "utf-8")
                    os.replace(staging, record_path)
                    return
            except OSError:
                pass
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if temp == self._partial:
            self.discard_partial()


def _already_read(response: httpx.Response) -> bytes | None:
    """The body of a response read before it got here (an in-memory one), else None.

    Its raw bytes are gone then; they equal the content only without a `Content-Encoding`.
    """
    if not response.is_stream_consumed:
        return None
    if response.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        raise TransportError(
            "The downlink response was read and decoded before it could be saved as sent."
        )
    return response.content


def feed_download(target: DownloadTarget, response: httpx.Response) -> Path:
    """Stream a downlink response (`httpx.Client`) into an entered `target`; commit it.

    Raises:
        The same as `DownloadTarget.open` and `commit`; `IncompleteDownloadError` when the
        body broke off.
    """
    target.open(response)
    body = _already_read(response)
    direct = body is None  # after the first chunk, the rest may come straight (_fastbody)
    with target.receiving():
        for chunk in response.iter_raw() if body is None else [body]:
            target.write(chunk)
            if direct and (rest := DirectBody.take_over(response, target.received)):
                rest.copy_to(target)  # then iter_raw ends: h11 saw the body's end
            direct = False
    return target.commit()


async def afeed_download(target: DownloadTarget, response: httpx.Response) -> Path:
    """Stream a downlink response (`httpx.AsyncClient`) into an entered `target`; commit it.

    Chunks are counted as they arrive and written to disk in a worker thread, about 1 MiB
    (`CHUNK_SIZE`) per hop: a 1 MiB write takes milliseconds on a busy disk, and the event
    loop must not wait for it. One write is in flight while the next megabyte is received
    (so memory stays at about two chunks), and the chunks are written as they came, without
    a copy. A cancelled task (or a body that broke off) lets the running write finish before
    the file is closed.
    """
    target.open(response)
    body = _already_read(response)
    loop = asyncio.get_running_loop()
    writing: asyncio.Future[None] | None = None
    batch: list[bytes] = []
    size = 0
    direct = body is None  # after the first chunk, the rest may come straight (_fastbody)
    try:
        with target.receiving():
            chunks = _once(body) if body is not None else response.aiter_raw()
            async for chunk in chunks:
                target.account(chunk)
                batch.append(chunk)
                size += len(chunk)
                if direct and (rest := DirectBody.atake_over(response, target.received)):
                    if writing is not None:  # in order: what came through httpx first
                        await asyncio.shield(writing)
                    writing = loop.run_in_executor(None, _store_all, target, batch)
                    batch, size = [], 0
                    await asyncio.shield(writing)
                    every = None if target.progress is None else PROGRESS_HOP_BYTES
                    await rest.acopy_to(target, every)  # then aiter_raw ends: h11 saw the end
                direct = False
                if size >= CHUNK_SIZE:
                    if writing is not None:
                        await asyncio.shield(writing)
                    writing = loop.run_in_executor(None, _store_all, target, batch)
                    batch, size = [], 0
        if writing is not None:
            await asyncio.shield(writing)
        if batch:
            writing = loop.run_in_executor(None, _store_all, target, batch)
            batch = []
            await asyncio.shield(writing)
    finally:
        if writing is not None:
            await _settle(writing)
        if batch:  # stopped early (a cut, a callback that raised, a cancel): what arrived
            # is stored too, so a resume continues from every byte counted so far, not from
            # the last full batch (which may be none at all)
            with contextlib.suppress(OSError):
                await _settle(loop.run_in_executor(None, _store_all, target, batch))
    return await _settle(loop.run_in_executor(None, target.commit))


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


def _store_all(target: DownloadTarget, chunks: list[bytes]) -> None:
    target.store_many(chunks)
