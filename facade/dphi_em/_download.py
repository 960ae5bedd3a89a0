"""Downlink: stream a response into a local file that appears whole or not at all.

`DownloadTarget` holds every decision and the local file: it names the file (from
`Content-Disposition`, RFC 6266, `filename*` first, reduced to a safe base name; else from
the requested path), refuses to replace a file unless asked, writes the body into a hidden
temporary file beside the target (`.NAME.<hex>.part`, created exclusively), checks the
length against `Content-Length`, and only then renames it into place. Used as a context
manager, any exception (a cut stream, a full disk, a cancelled task) removes the temporary
file, so nothing is left behind.

`receive_download` (`httpx.Client`) and `areceive_download` (`httpx.AsyncClient`) only feed
it. Both read the raw body (`iter_raw`/`aiter_raw`): a `Content-Encoding` is never decoded,
so the file holds the bytes the server sent, checked against `Content-Length` (which counts
those bytes). Only a `200` is saved: a `206 Partial Content` to a request without `Range`
would otherwise be saved as the whole file.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import posixpath
import re
import secrets
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO
from urllib.parse import unquote

import anyio.to_thread
import httpx

from ._config import CHUNK_SIZE
from ._errors import (
    APIError,
    IncompleteDownloadError,
    LocalFileExistsError,
    TransportError,
    ValidationError,
)
from ._progress import Progress

__all__ = [
    "DownloadTarget",
    "areceive_download",
    "content_disposition_filename",
    "receive_download",
    "safe_file_name",
]

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


class DownloadTarget:
    """One downlink's local file: named, written aside, checked, then renamed into place.

    Every decision of a download, and its local file; a sync or an async driver only moves
    the body's bytes into it (no network I/O here). Use it as a context manager: leaving it
    without `commit()` (an exception, a cancelled task) calls `abort()`.

    ```python
    with DownloadTarget(folder, "results/out.bin", overwrite=False, progress=None) as target:
        target.open(response)
        with target.receiving():
            for chunk in response.iter_raw():
                target.write(chunk)
        path = target.commit()
    ```

    Args:
        folder: The local folder (must exist).
        requested: The file's path in the volume (names the file when the server does not).
        overwrite: Replace an existing local file.
        progress: Told the total (from `Content-Length`) and each chunk.

    Attributes:
        target: The final path, once `open` chose it.
        temp: The temporary file, while it exists.
        expected: The announced length (None: unknown).
        received: Bytes received so far.
    """

    def __init__(
        self, folder: Path, requested: str, *, overwrite: bool, progress: Progress | None
    ) -> None:
        self.folder = Path(folder)
        self.requested = requested
        self.overwrite = overwrite
        self.progress = progress
        self.target: Path | None = None
        self.temp: Path | None = None
        self.expected: int | None = None
        self.received = 0
        self._file: BinaryIO | None = None
        self._committed = False

    def __enter__(self) -> DownloadTarget:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed:
            self.abort()

    def open(self, response: httpx.Response) -> None:
        """Check the response and the local side, then create the temporary file.

        Raises:
            APIError: The status is not `200` (e.g. a `206` to a request without `Range`).
            TransportError: An unusable `Content-Length`.
            ValidationError: Neither the server nor the requested path gives a usable name.
            LocalFileExistsError: The target exists and `overwrite` is False.
        """
        if self._file is not None or self._committed:
            raise RuntimeError("DownloadTarget.open() was already called.")
        status = response.status_code
        if status == 206 and _sent_range(response) is None:
            raise APIError(
                f"The server answered the downlink of {self.requested!r} with 206 Partial "
                "Content although no range was asked: refusing to save part of a file as "
                "the whole.",
                status_code=status,
                response=response,
            )
        if status != 200:
            raise APIError(
                f"The server answered the downlink of {self.requested!r} with {status} "
                f"{response.reason_phrase}; only a 200 carries the whole file.",
                status_code=status,
                response=response,
            )
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
        # at most 100 bytes of the name: with the rest, well under the usual 255-byte limit
        hint = name.encode("utf-8")[:100].decode("utf-8", "ignore")
        temp = self.folder / f".{hint}.{secrets.token_hex(6)}.part"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        fd = os.open(temp, flags, 0o666)
        self.target, self.temp = target, temp
        self._file = open(fd, "wb", buffering=CHUNK_SIZE)  # noqa: SIM115 (closed by commit/abort)
        if self.progress is not None and self.expected is not None:
            self.progress.set_total(self.expected)

    def account(self, chunk: bytes | bytearray) -> None:
        """Count a chunk that arrived (length check, progress), without storing it yet.

        Raises:
            IncompleteDownloadError: More bytes than `Content-Length` announced.
        """
        self.received += len(chunk)
        if self.expected is not None and self.received > self.expected:
            raise IncompleteDownloadError(
                f"The download of {self.requested!r} sent more than the {self.expected} "
                "bytes it announced."
            )
        if self.progress is not None and chunk:
            self.progress.advance(len(chunk))

    def store(self, data: bytes | bytearray) -> None:
        """Write counted bytes to the temporary file (blocking: an async driver runs it in
        a worker thread)."""
        if self._file is None:
            raise RuntimeError("DownloadTarget.open() must come first.")
        self._file.write(data)

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
                f"The download of {self.requested!r} broke off after {self.received} bytes: {exc}"
            ) from exc

    def verify(self) -> None:
        """Check the bytes received against `Content-Length`.

        Raises:
            IncompleteDownloadError: Fewer (or more) bytes than announced.
        """
        if self.expected is not None and self.received != self.expected:
            raise IncompleteDownloadError(
                f"The download of {self.requested!r} ended after {self.received} of "
                f"{self.expected} bytes."
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

    def abort(self) -> None:
        """Close and remove the temporary file (idempotent; a committed file stays)."""
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
        temp, self.temp = self.temp, None
        if temp is not None and not self._committed:
            with contextlib.suppress(OSError):
                os.unlink(temp)


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


def receive_download(
    response: httpx.Response,
    folder: Path,
    requested: str,
    *,
    overwrite: bool,
    progress: Progress | None,
) -> Path:
    """Stream a downlink response (`httpx.Client`) into `folder`; return the file's path.

    Raises:
        APIError: Not a `200` (e.g. a `206` to a request without `Range`).
        ValidationError: Neither the server nor the requested path gives a usable name.
        LocalFileExistsError: The target exists and `overwrite` is False.
        IncompleteDownloadError: The body was shorter than `Content-Length` or broke off.
    """
    with DownloadTarget(folder, requested, overwrite=overwrite, progress=progress) as target:
        target.open(response)
        body = _already_read(response)
        with target.receiving():
            for chunk in response.iter_raw() if body is None else [body]:
                target.write(chunk)
        return target.commit()


async def areceive_download(
    response: httpx.Response,
    folder: Path,
    requested: str,
    *,
    overwrite: bool,
    progress: Progress | None,
) -> Path:
    """Stream a downlink response (`httpx.AsyncClient`) into `folder`; return the file's path.

    Chunks are counted as they arrive and written to disk in a worker thread, 1 MiB at a
    time: a 1 MiB write takes milliseconds on a busy disk, and the event loop must not wait
    for it. A cancelled task lets the running write finish, then removes the temporary file.

    Raises:
        The same as `receive_download`.
    """
    with DownloadTarget(folder, requested, overwrite=overwrite, progress=progress) as target:
        target.open(response)
        body = _already_read(response)
        pending = bytearray()
        with target.receiving():
            if body is not None:
                target.account(body)
                pending += body
            else:
                async for chunk in response.aiter_raw():
                    target.account(chunk)
                    pending += chunk
                    if len(pending) >= CHUNK_SIZE:
                        await anyio.to_thread.run_sync(target.store, pending)
                        pending.clear()
        if pending:
            await anyio.to_thread.run_sync(target.store, pending)
        return await anyio.to_thread.run_sync(target.commit)
