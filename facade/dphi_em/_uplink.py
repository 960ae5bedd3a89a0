"""Uplink: plan the calls, then stream each as one `multipart/form-data` body.

The local paths are checked and planned before anything is sent (every path exists and is a
readable regular file or a folder, recursed with its structure kept; no file over the
per-call limit). The server keeps only a part's base name (as Django does) and reads one
`dest_path` per call, so a call can only fill one folder: files are batched per destination
folder, under the byte limit and the file-count limit, and a tree takes one call per folder
holding files (more only for a folder over a limit). No correct way exists to fill several
folders in one call with this API.

Each batch is sent as a `MultipartFileStream`: large files are read from disk in 1 MiB
chunks, small ones whole, in runs of up to 1 MiB; the body's exact `Content-Length` is
computed in advance, the boundary is random, and each attempt reopens the files (so a
retried request is sent whole).

The body is decided once and read twice: `MultipartFileStream._flow` is a generator that
yields either bytes to send or a read step (`_Read`: the next bytes of a large file;
`_ReadSmall`: a run of small files), and is sent the bytes read back. It owns the layout,
the gathering of small pieces into sends of up to 256 KiB, the size checks and the progress
reports (one per send). `__iter__` (`httpx.Client`) and `__aiter__` (`httpx.AsyncClient`)
only run it (`_Attempt`), each reading files its own way (the async one in a worker thread,
one hop per step, except small files on tmpfs or ramfs), so both send the same bytes.

Where the time of a small file goes (1,000 files of 4 KiB to a raw sink, `EMClient`, about
35 us of CPU each on a loaded 2-core machine, issue 22): planning about 8 (`stat` and
`access` 4-5 of it; the name check, the `UplinkFile`), reading about 5 (`open`, `read`,
`close`: the system calls 3-4 of it), the multipart heads, gathering and loopback sends
about 4, and httpx/httpcore's work per call of 100 files about 1.1 ms (1.7 ms async), i.e.
11 (17) per file. Before this round: 45 (48) us, planning 12, reading and framing 10 and
a thread hop of about 0.5 ms per async call.
"""

from __future__ import annotations

import bisect
import itertools
import os
import re
import secrets
import stat
import sys
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import TypeAlias, cast

import anyio.to_thread
import attrs
import httpx

from ._config import CHUNK_SIZE
from ._errors import FileTooLargeError, ValidationError

__all__ = [
    "GATHER_SIZE",
    "MAX_FILES_PER_CALL",
    "MultipartFileStream",
    "UplinkFile",
    "batch_files",
    "check_uplink_file",
    "collect_tree",
    "plan_uplink",
]

#: Small parts are gathered into pieces of this size before they are sent (and the async
#: client reads this much of small files per thread hop): 256 KiB cut the async client's
#: CPU for 1,000 files of 4 KiB by about 15% against 64 KiB (issue 22).
GATHER_SIZE = 256 * 1024

#: Django refuses more than 100 files in one request (`DATA_UPLOAD_MAX_NUMBER_FILES`).
MAX_FILES_PER_CALL = 100

#: A local path as the planner keeps it: the caller's string for a file given by path.
StrPath: TypeAlias = "str | os.PathLike[str]"

#: What a part's file name cannot carry: quotes, backslashes, control characters (Unicode Cc),
#: and lone surrogates (the bytes of a POSIX name that are not UTF-8, as `os.fsdecode` gives
#: them: no head or field can be encoded with one).
_UNSENDABLE = re.compile(r'["\\\x00-\x1f\x7f-\x9f\ud800-\udfff]')
_NOT_UTF8 = re.compile(r"[\ud800-\udfff]")
_unsendable = _UNSENDABLE.search
#: A file's name is what follows the last "/" (`os.path.basename` on POSIX, cheaper).
_PLAIN_NAMES = os.sep == "/" and os.altsep is None
_stat, _access, _R_OK, _isreg = os.stat, os.access, os.R_OK, stat.S_ISREG


@attrs.define
class UplinkFile:
    """One local file to send, and the volume folder it goes to ("" is the root).

    `path` is the path as given (a string when the caller gave one: no `Path` built per
    file). `mtime` is the file's modification time when it was planned (seconds since the
    epoch).

    Not changed once made, though not frozen: a frozen class sets each field through
    `object.__setattr__`, which made building one the dearest step of planning a small
    file (issue 22).
    """

    path: StrPath
    size: int
    dest_dir: str
    mtime: float = 0.0
    #: The file's name (the server keeps it under `dest_dir`).
    name: str = attrs.field(init=False, eq=False, repr=False)
    #: The file's path in the volume.
    dest: str = attrs.field(init=False, eq=False, repr=False)
    #: The device holding the file when it was planned (`st_dev`; 0: not known).
    dev: int = attrs.field(default=0, kw_only=True, eq=False, repr=False)

    @name.default
    def _name(self) -> str:
        return os.path.basename(self.path)

    @dest.default
    def _dest(self) -> str:
        return _join(self.dest_dir, self.name)


def _planned_file(
    path: StrPath, size: int, dest_dir: str, mtime: float, name: str, dest: str, dev: int
) -> UplinkFile:
    """The planner's `UplinkFile`, whose name and volume path it already has: its fields set
    as `__init__` would set them, without computing them again."""
    item: UplinkFile = object.__new__(UplinkFile)
    item.path = path
    item.size = size
    item.dest_dir = dest_dir
    item.mtime = mtime
    item.name = name
    item.dest = dest
    item.dev = dev
    return item


_LINUX = sys.platform.startswith("linux")
#: How /proc/self/mountinfo names the file systems that keep their files in memory.
_MEMORY_FILE_SYSTEMS = (b"tmpfs ", b"ramfs ")


def _memory_devices() -> frozenset[int]:
    """The devices (`st_dev`) of the memory file systems (tmpfs, ramfs) mounted now: a read
    there waits for no disk. None where /proc/self/mountinfo cannot be read (not Linux)."""
    chunks: list[bytes] = []
    try:
        fd = os.open("/proc/self/mountinfo", os.O_RDONLY)
        try:
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
        finally:
            os.close(fd)
    except OSError:
        return frozenset()
    devices: set[int] = set()
    # "ID PARENT MAJOR:MINOR ROOT MOUNT OPTIONS [OPTIONAL...] - TYPE SOURCE ...", each field
    # without spaces (a space in a path is written \040): the type follows the first " - "
    for line in b"".join(chunks).split(b"\n"):
        fields, _, kind = line.partition(b" - ")
        if kind.startswith(_MEMORY_FILE_SYSTEMS):
            major, _, minor = (fields.split(b" ", 3) + [b""] * 3)[2].partition(b":")
            if major.isdigit() and minor.isdigit():
                devices.add(os.makedev(int(major), int(minor)))
    return frozenset(devices)


def _unnumbered(dev: int) -> bool:
    """Whether `dev` has no block device (major number 0): tmpfs and ramfs, but also network,
    FUSE and overlay file systems. A file on a disk needs no look at the mount table."""
    return _LINUX and dev != 0 and os.major(dev) == 0


def _in_memory(files: Sequence[UplinkFile], devices: frozenset[int]) -> int:
    """How many of `files`, from the first, were planned on one of `devices`."""
    count = 0
    for item in files:
        if item.dev not in devices:
            break
        count += 1
    return count


def _join(folder: str, name: str) -> str:
    return f"{folder.rstrip('/')}/{name}" if folder.strip("/") else name


def _check_name(path: StrPath, name: str | None = None) -> None:
    if _UNSENDABLE.search(os.path.basename(path) if name is None else name):
        raise ValidationError(
            f"Cannot uplink {str(path)!r}: its name holds a quote, a backslash, a control "
            "character or bytes that are not UTF-8, which the server would not keep. "
            "Rename it first."
        )


def check_uplink_file(
    path: StrPath,
    st: os.stat_result,
    max_bytes: int,
    text: str | None = None,
    name: str | None = None,
) -> None:
    """Refuse a regular file that cannot be sent: unreadable, over `max_bytes`, a bad name.

    Args:
        path: The file.
        st: Its `os.stat` result.
        max_bytes: The per-call limit.
        text: `str(path)`, when the caller has it (checks on the string are cheaper).
        name: Its base name, when the caller has it.

    Raises:
        ValidationError: Unreadable, or a name the server would not keep.
        FileTooLargeError: Over `max_bytes`.
    """
    if text is None:
        text = os.fspath(path)
    if not os.access(text, os.R_OK):
        raise ValidationError(f"Cannot uplink {str(path)!r}: the file is not readable.")
    if st.st_size > max_bytes:
        raise FileTooLargeError(
            f"Cannot uplink {str(path)!r}: {st.st_size} bytes is over the per-call limit "
            f"of {max_bytes} bytes."
        )
    _check_name(path, os.path.basename(text) if name is None else name)


def _path_text(raw: object) -> str:
    """The string of a path given as a `str` or an `os.PathLike` giving one.

    Raises:
        ValidationError: Anything else (bytes, a number, a PathLike giving bytes).
    """
    text = raw if isinstance(raw, str) else os.fspath(raw) if isinstance(raw, os.PathLike) else None
    if not isinstance(text, str):
        raise ValidationError(
            f"Not a file path: {raw!r} (a path is a str or an os.PathLike giving a str)."
        )
    return text


def _collect(
    path: Path, dest_dir: str, max_bytes: int, seen: set[tuple[int, int]]
) -> Iterator[UplinkFile]:
    try:
        st = os.stat(text := str(path))
    except FileNotFoundError:
        raise ValidationError(f"Cannot uplink {str(path)!r}: no such file or folder.") from None
    except OSError as exc:
        raise ValidationError(f"Cannot uplink {str(path)!r}: {exc.strerror}.") from exc
    except ValueError:  # a NUL character: no file can be named so
        raise ValidationError(
            f"Cannot uplink {str(path)!r}: a path cannot hold a NUL character."
        ) from None
    if stat.S_ISREG(st.st_mode):
        check_uplink_file(path, st, max_bytes, text)
        yield UplinkFile(path, st.st_size, dest_dir, st.st_mtime)
    elif stat.S_ISDIR(st.st_mode):
        if (st.st_dev, st.st_ino) in seen:  # a link back up the tree: already sent
            return
        seen.add((st.st_dev, st.st_ino))
        if not os.access(path, os.R_OK | os.X_OK):
            raise ValidationError(f"Cannot uplink {str(path)!r}: the folder is not readable.")
        name = path.resolve().name if path.name in ("", ".", "..") else path.name
        if _NOT_UTF8.search(name):
            raise ValidationError(
                f"Cannot uplink {str(path)!r}: the folder's name holds bytes that are not "
                "UTF-8, which no volume path can carry. Rename it first."
            )
        folder = _join(dest_dir, name)
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
    if isinstance(filepaths, (str, bytes, os.PathLike)):
        filepaths = [filepaths]  # (bytes: one bad path, refused below, not a list of ints)
    if not filepaths:
        raise ValidationError("Nothing to uplink: no file paths were given.")
    if not isinstance(dest_path, str):
        raise ValidationError(f"dest_path must be a string, not {type(dest_path).__name__}.")
    if _NOT_UTF8.search(dest_path):
        raise ValidationError(
            f"dest_path {dest_path!r} holds bytes that are not UTF-8: it cannot be sent."
        )
    files: list[UplinkFile] = []
    seen: set[tuple[int, int]] = set()
    one_folder = True  # every file goes to `dest_path` itself (no folder was given)
    # The usual case, a file given by path: one `stat` and one `access`, no `Path`, the name
    # cut here and the `UplinkFile`'s fields set directly (issue 22).
    prefix = _join(dest_path, "")
    for raw in filepaths:
        text = raw if type(raw) is str else _path_text(raw)
        try:
            st = _stat(text)
        except (OSError, ValueError):
            st = None
        if st is not None and _isreg(st.st_mode):
            size = st.st_size
            name = text[text.rfind("/") + 1 :] if _PLAIN_NAMES else os.path.basename(text)
            if size > max_bytes or not _access(text, _R_OK) or _unsendable(name):
                check_uplink_file(text, st, max_bytes, text, name)  # raises, naming why
            item = _planned_file(text, size, dest_path, st.st_mtime, name, prefix + name, st.st_dev)
            files.append(item)
            continue
        if not text:  # `Path("")` is ".": an unset shell variable would send the whole folder
            raise ValidationError(
                "Cannot uplink '': an empty path names no file (give '.' for the current folder)."
            )
        # A folder, or a path to refuse (`_collect` names why: `Path` spells a few otherwise)
        one_folder = False
        files.extend(_collect(Path(raw), dest_path, max_bytes, seen))
    if not files:
        raise ValidationError("Nothing to uplink: the folders given hold no files.")
    if len({item.dest for item in files}) < len(files):
        first: dict[str, UplinkFile] = {}
        for item in files:
            earlier = first.setdefault(item.dest, item)
            if earlier is not item:
                raise ValidationError(
                    f"Cannot uplink both {str(earlier.path)!r} and {str(item.path)!r}: both "
                    f"would land on {item.dest!r} in the volume, the second replacing the "
                    "first. Uplink them in separate calls with different dest_path folders."
                )
    if one_folder:
        return _split(files, max_bytes, max_files)
    return batch_files(files, max_bytes=max_bytes, max_files=max_files)


def collect_tree(
    folder: Path, *, max_bytes: int, skip: re.Pattern[str] | None = None
) -> list[UplinkFile]:
    """The files under `folder`, each with its folder relative to `folder` as `dest_dir`.

    Checked as `plan_uplink` checks them; names matching `skip` (e.g. partial downloads)
    are left out. An empty folder gives an empty list.

    Raises:
        ValidationError: `folder` is not a readable folder, or a file is unreadable.
        FileTooLargeError: One file is over `max_bytes`.
    """
    if not folder.is_dir():
        raise ValidationError(f"{str(folder)!r} is not a folder.")
    seen: set[tuple[int, int]] = set()
    st = folder.stat()
    seen.add((st.st_dev, st.st_ino))
    files: list[UplinkFile] = []
    for child in sorted(folder.iterdir(), key=lambda p: p.name):
        for item in _collect(child, "", max_bytes, seen):
            if skip is None or not skip.match(item.name):
                files.append(item)
    return files


def batch_files(
    files: Sequence[UplinkFile], *, max_bytes: int, max_files: int = MAX_FILES_PER_CALL
) -> list[list[UplinkFile]]:
    """Split files into calls: one destination folder per call, under both limits.

    The fewest calls the API allows when no folder is over a limit: one per folder.
    """
    groups: dict[str, list[UplinkFile]] = {}
    for item in files:
        groups.setdefault(item.dest_dir, []).append(item)
    batches: list[list[UplinkFile]] = []
    for group in groups.values():
        batches += _split(group, max_bytes, max_files)
    return batches


def _split(files: list[UplinkFile], max_bytes: int, max_files: int) -> list[list[UplinkFile]]:
    """Files of one folder in calls under both limits, each call as full as they allow."""
    batches: list[list[UplinkFile]] = []
    start, count = 0, len(files)
    while start < count:
        end = min(start + max_files, count)
        if sum([item.size for item in files[start:end]]) > max_bytes:  # rare: file by file
            end, size = start + 1, files[start].size
            while end < count and end - start < max_files and size + files[end].size <= max_bytes:
                size += files[end].size
                end += 1
        batches.append(files[start:end])
        start = end
    return batches


def _quote(value: str) -> bytes:
    # What browsers (and httpx) do in multipart headers: percent-escape `"`, CR and LF.
    if '"' in value or "\r" in value or "\n" in value:
        value = value.translate({0x22: "%22", 0x0D: "%0D", 0x0A: "%0A"})
    return value.encode("utf-8")


def _quote_all(names: list[str]) -> list[bytes]:
    """`_quote` of each name; the usual case (no quote, CR or LF) encoded in one go."""
    text = "/".join(names)  # no name holds "/": it is a path's last part
    if '"' in text or "\r" in text or "\n" in text or text.count("/") != len(names) - 1:
        return [_quote(name) for name in names]
    return text.encode("utf-8").split(b"/")


@attrs.frozen
class _Read:
    """A step of the body: the driver reads `file`'s next bytes and sends them back.

    At most `size` bytes, fewer only at the end of the file (an empty result: the end).
    `offset` 0 means the file must be (re)opened first.
    """

    file: UplinkFile
    offset: int
    size: int


@attrs.frozen
class _ReadSmall:
    """A step of the body: the driver reads each of `files` whole and sends back a list of
    their bytes, in order.

    Each file is smaller than a gathered send; each read asks for one byte more than the
    planned size (getting it means the file grew). A file that cannot be read ends the list
    with its `ValidationError`, which the flow raises when the body reaches that file.
    """

    files: Sequence[UplinkFile]


_Step: TypeAlias = "bytes | _Read | _ReadSmall"
_Answer: TypeAlias = "bytes | list[bytes | ValidationError]"


def _unreadable(path: StrPath, exc: OSError) -> ValidationError:
    error = ValidationError(f"Cannot read {str(path)!r} while uplinking: {exc.strerror or exc}.")
    error.__cause__ = exc
    return error


class _FileReader:
    """The drivers' side of a read step: keeps the large file being read open between steps.

    Plain descriptors (`os.open`, `os.read`): half the cost of a file object per small file.
    Opened non-blocking: no effect on a regular file, but a file replaced by a FIFO since it
    was planned must not hold the open (or the async client's worker thread, which a
    cancelled task waits for) until a writer comes: its read then ends early (`shrank`).
    """

    _FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)

    def __init__(self) -> None:
        self._fd: int | None = None

    def answer(self, step: _Read | _ReadSmall) -> _Answer:
        """What `step` asks for: a large file's next bytes, or small files' bytes."""
        if isinstance(step, _ReadSmall):
            return self.read_small(step.files)
        return self._read(step)

    def _read(self, step: _Read) -> bytes:
        path = step.file.path
        try:
            if step.offset == 0:
                self.close()
                self._fd = os.open(path, self._FLAGS)
            assert self._fd is not None
            data = os.read(self._fd, step.size)
            # A regular file gives fewer bytes than asked only at its end; make sure of it.
            while 0 < len(data) < step.size:
                more = os.read(self._fd, step.size - len(data))
                if not more:
                    break
                data += more
        except OSError as exc:
            raise _unreadable(path, exc) from exc
        return data

    def read_small(self, files: Sequence[UplinkFile]) -> list[bytes | ValidationError]:
        """`files` read whole, as `_ReadSmall` asks."""
        # One open, read and close per file. Asked one byte more than planned, a read that
        # returns the planned size has met the end of the file (a regular file gives fewer
        # bytes than asked only there); only a read short of the planned size is retried.
        self.close()
        results: list[bytes | ValidationError] = []
        append, flags = results.append, self._FLAGS
        open_, read, close = os.open, os.read, os.close
        for item in files:
            size = item.size
            try:
                fd = open_(item.path, flags)
                try:
                    data = read(fd, size + 1)
                    while len(data) < size:
                        more = read(fd, size + 1 - len(data))
                        if not more:
                            break
                        data += more
                finally:
                    close(fd)
            except OSError as exc:
                append(_unreadable(item.path, exc))
                break
            append(data)
        return results

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class _Gather:
    """Gathers pieces smaller than `size` into sends of up to `size` bytes.

    Each send is paired with the count of file bytes it carries (for progress). The flow
    appends to `parts` itself when a part's head and bytes fit (the usual case, no call).
    """

    __slots__ = ("file_bytes", "length", "parts", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.parts: list[bytes] = []
        self.length = 0
        self.file_bytes = 0

    def add(self, piece: bytes, file_bytes: int) -> Sequence[tuple[bytes, int]]:
        """What to send now, given one more piece (a large piece goes out as is, uncopied)."""
        out: list[tuple[bytes, int]] = []
        if self.length and self.length + len(piece) > self.size:
            out.append(self.flush())
        if len(piece) >= self.size:
            out.append((piece, file_bytes))
        else:
            self.parts.append(piece)
            self.length += len(piece)
            self.file_bytes += file_bytes
        return out

    def flush(self) -> tuple[bytes, int]:
        """What is gathered, emptied."""
        sent = (b"".join(self.parts), self.file_bytes)
        self.parts.clear()
        self.length = self.file_bytes = 0
        return sent


class _Attempt:
    """One pass of a body's flow with its file reader, for a driver.

    Iterating gives the flow's steps: bytes to send, or a read step, which the driver
    answers (`answer(read(step))`, `read` in any thread) before it asks for the next step.
    Leaving the `with` block closes the flow and the file being read.
    """

    def __init__(self, flow: Generator[_Step, _Answer, None]) -> None:
        self._flow = flow
        self._reader = _FileReader()
        self._answer: _Answer = b""
        self.read = self._reader.answer

    def __enter__(self) -> _Attempt:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._reader.close()
        self._flow.close()

    def read_small(self, files: Sequence[UplinkFile]) -> list[bytes | ValidationError]:
        """`read(_ReadSmall(files))`: `files` read whole (see `_ReadSmall`)."""
        return self._reader.read_small(files)

    def answer(self, data: _Answer) -> None:
        """The bytes read for the last step."""
        self._answer = data

    def __iter__(self) -> Iterator[_Step]:
        flow = self._flow
        step = next(flow, None)
        while step is not None:
            yield step
            answer, self._answer = self._answer, b""
            try:
                step = flow.send(answer)
            except StopIteration:
                return


class MultipartFileStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A `multipart/form-data` body read from disk chunk by chunk, re-iterable, sync or async.

    Give it to a request with `attach`, for `httpx.Client` and `httpx.AsyncClient` alike
    (`content=` would wrap it in a sync-only stream; assigning `request.stream` would leave
    `request.content` empty for hooks and mock transports):

    ```python
    request = stream.attach(http.build_request("POST", "em/files/uplink"))
    response = http.send(request)  # or: await http.send(request)
    ```

    Each iteration is one attempt: it calls `on_start`, reopens the files and sends the
    whole body again. A file that shrank or grew since it was planned fails the attempt
    with `ValidationError` (the server would get a body that does not match its length).

    Args:
        fields: Plain fields, sent first, in order.
        files: The files, each as a part named `files`.
        on_start: Called when an attempt starts (progress goes back to this batch's start).
        on_chunk: Called with the file bytes of each piece once it was handed to the
            transport (in the thread or task that iterates).
        chunk_size: Bytes read at a time.
        gather_size: Smaller pieces are gathered up to this size before they are handed over.

    Attributes:
        boundary: The random multipart boundary.
        content_length: The body's exact length in bytes.
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
        if chunk_size < 1 or gather_size < 1:
            raise ValueError(
                f"chunk_size and gather_size must be positive: {chunk_size}, {gather_size}."
            )
        self.boundary = secrets.token_hex(16)
        dash = b"--" + self.boundary.encode("ascii")
        self._lead = b"".join(
            dash
            + b'\r\nContent-Disposition: form-data; name="'
            + _quote(name)
            + b'"\r\n\r\n'
            + value.encode("utf-8")
            + b"\r\n"
            for name, value in fields
        )
        # Each file's part head; every part after the first starts by ending the one before.
        start = b"\r\n" + dash + b'\r\nContent-Disposition: form-data; name="files"; filename="'
        end = b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        self._files = tuple(files)
        self._heads = [start + name + end for name in _quote_all([f.name for f in self._files])]
        if self._heads:
            self._heads[0] = self._heads[0][2:]
        self._tail = (b"\r\n" if files else b"") + dash + b"--\r\n"
        self._sizes = [item.size for item in self._files]
        # Where each piece (file i: its head 2i, its bytes 2i + 1) starts in the body after
        # the lead, and the file bytes before it: runs of small files are cut by these.
        lengths = [0] * (2 * len(self._files))
        lengths[0::2] = map(len, self._heads)
        lengths[1::2] = self._sizes
        self._offsets = list(itertools.accumulate(lengths, initial=0))
        lengths[0::2] = itertools.repeat(0, len(self._files))
        self._file_offsets = list(itertools.accumulate(lengths, initial=0))
        self.content_length = len(self._lead) + self._offsets[-1] + len(self._tail)
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

    def attach(self, request: httpx.Request) -> httpx.Request:
        """A copy of `request` carrying this body: its stream, `Content-Type` and length.

        Args:
            request: A request built without a body (e.g. by `Client.build_request`).

        Returns:
            A new request with the same method, URL, other headers and extensions.
        """
        headers = httpx.Headers(request.headers)
        for name, value in self.headers.items():
            headers[name] = value
        headers.pop("Transfer-Encoding", None)
        return httpx.Request(
            request.method, request.url, headers=headers, stream=self, extensions=request.extensions
        )

    def _flow(self) -> Generator[_Step, _Answer, None]:
        """The body of one attempt, I/O-free: yields bytes to send, or a read step to answer.

        After yielding bytes it is sent `b""` (they were handed over); after a read step,
        what was read. Files smaller than `gather_size` are read in runs of up to
        `chunk_size` bytes (one `_ReadSmall` each), and pieces smaller than `gather_size`
        are gathered up to that size, so that a call of a hundred 4 KiB files takes one read
        step and two sends rather than a hundred and two hundred, while the first bytes
        still leave early enough for the server to parse while the rest is read. A large
        file is read in `chunk_size` chunks (one `_Read` each), handed over as read, without
        a copy.
        """
        if self._on_start is not None:
            self._on_start()
        report = self._on_chunk or _ignore
        gather = _Gather(self._gather_size)
        small = gather.size  # a file under this size is read whole, in a run of such files
        run_bytes = self._chunk_size  # a run reads up to one chunk
        files, heads, sizes, count = self._files, self._heads, self._sizes, len(self._files)
        for data, file_bytes in gather.add(self._lead, 0) if self._lead else ():
            yield data
            report(file_bytes)
        index = 0
        while index < count:
            if sizes[index] >= small:
                yield from self._large(gather, files[index], heads[index], report)
                index += 1
                continue
            end, total = index + 1, sizes[index]
            while end < count and sizes[end] < small and total + sizes[end] <= run_bytes:
                total += sizes[end]
                end += 1
            results = yield _ReadSmall(files[index:end])
            assert isinstance(results, list)
            yield from self._small_run(gather, index, results, report)
            index = end
        for data, file_bytes in (*gather.add(self._tail, 0), gather.flush()):
            if data:
                yield data
                report(file_bytes)

    def _small_run(
        self,
        gather: _Gather,
        index: int,
        results: list[bytes | ValidationError],
        report: Callable[[int], None],
    ) -> Generator[_Step, _Answer, None]:
        """A run of small files, read (`results`), from file `index` on: gathered into sends.

        `results` ends early at a file that could not be read: its error, raised when the
        body reaches it, as is a file found at another size than planned. When every file
        is whole (the usual case), the run's pieces (heads and files) are cut into sends by
        their planned offsets, not looked at one by one (issue 22).
        """
        end = index + len(results)
        read = cast("list[bytes]", results)  # unless its last is an error: checked first
        if (
            isinstance(results[-1], ValidationError)
            or list(map(len, read)) != (self._sizes[index:end])
        ):  # file by file, up to the file that failed or changed: its error
            run = zip(self._files[index:], self._heads[index:], results, strict=False)
            for item, head, got in run:
                if isinstance(got, ValidationError):
                    raise got
                if len(got) != item.size:
                    raise _changed(item, len(got))
                for piece, piece_bytes in ((head, 0), (got, len(got))):
                    for data, file_bytes in gather.add(piece, piece_bytes):
                        yield data
                        report(file_bytes)
            return
        pieces: list[bytes] = [b""] * (2 * len(read))
        pieces[0::2] = self._heads[index:end]
        pieces[1::2] = read
        offsets, file_offsets, small = self._offsets, self._file_offsets, gather.size
        first = at = 2 * index  # pieces by their index in the body: 2i head, 2i+1 file
        stop = 2 * end
        while at < stop:
            # the most pieces from `at` on that fit in the gathered send
            fit = bisect.bisect_right(offsets, offsets[at] + small - gather.length, at, stop + 1)
            if fit - 1 > at:
                gather.parts += pieces[at - first : fit - 1 - first]
                gather.length += offsets[fit - 1] - offsets[at]
                gather.file_bytes += file_offsets[fit - 1] - file_offsets[at]
                at = fit - 1
            elif gather.length:  # the next piece does not fit: send what is gathered
                data, file_bytes = gather.flush()
                yield data
                report(file_bytes)
            else:  # a piece larger than a send (a tiny `gather_size`): sent alone
                yield pieces[at - first]
                report(file_offsets[at + 1] - file_offsets[at])
                at += 1

    def _large(
        self, gather: _Gather, item: UplinkFile, head: bytes, report: Callable[[int], None]
    ) -> Generator[_Step, _Answer, None]:
        """A large file's part, read one chunk at a time."""
        for data, file_bytes in gather.add(head, 0):
            yield data
            report(file_bytes)
        offset = 0
        while True:
            # At the planned end, ask for one byte more: getting it means the file grew.
            want = min(self._chunk_size, item.size - offset + 1)
            chunk = yield _Read(item, offset, want)
            assert isinstance(chunk, bytes)
            if offset + len(chunk) > item.size or (
                len(chunk) < want and offset + len(chunk) < item.size
            ):
                raise _changed(item, offset + len(chunk))
            offset += len(chunk)
            if chunk:
                for data, file_bytes in gather.add(chunk, len(chunk)):
                    yield data
                    report(file_bytes)
            if len(chunk) < want:  # the end of the file, at its planned size
                return

    def __iter__(self) -> Iterator[bytes]:
        """The body, reading files in the calling thread."""
        with _Attempt(self._flow()) as attempt:
            for step in attempt:
                if isinstance(step, bytes):
                    yield step
                else:
                    attempt.answer(attempt.read(step))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """The body, reading files in a worker thread: one hop per 1 MiB chunk of a large
        file, one hop per run of small files (up to 1 MiB of them), except for small files
        planned on a memory file system (tmpfs, ramfs), read here.

        Why a thread: a read from the page cache takes a fraction of a millisecond per MiB,
        but a cold disk, a network file system or writeback pressure can hold one for tens
        of milliseconds or more, and every task on the event loop (token refresh, other
        transfers, progress) would wait with it. A thread hop costs some tens of
        microseconds (about 170 of CPU on a loaded machine): negligible beside sending a
        1 MiB chunk, but not beside a 4 KiB file, hence the runs. At most one hop is in
        flight, so memory stays at about two chunks. A cancelled task lets the running read
        finish, then stops.

        A file on tmpfs or ramfs has no disk to wait for: its run is read without the hop,
        which cost about 0.5 ms a run of a hundred 4 KiB files (the worker's wake-up, the
        loop's, and the files' bytes crossing cores: issue 22). Which devices those are is
        read from the mount table once per attempt (only for files on a device without a
        block device number: not for a disk).
        """
        memory: frozenset[int] | None = None
        with _Attempt(self._flow()) as attempt:
            for step in attempt:
                if isinstance(step, bytes):
                    yield step
                    continue
                if isinstance(step, _ReadSmall) and _unnumbered(step.files[0].dev):
                    if memory is None:
                        memory = _memory_devices()
                    here = _in_memory(step.files, memory)
                    if here:  # those first, here; the rest (if any) in the thread
                        read = attempt.read_small(step.files[:here])
                        if here < len(step.files) and not isinstance(read[-1], ValidationError):
                            rest = _ReadSmall(step.files[here:])
                            read += cast(
                                "list[bytes | ValidationError]",
                                await anyio.to_thread.run_sync(attempt.read, rest),
                            )
                        attempt.answer(read)
                        continue
                attempt.answer(await anyio.to_thread.run_sync(attempt.read, step))


def _changed(item: UplinkFile, seen: int) -> ValidationError:
    """The error for a file found at `seen` bytes (or more) instead of its planned size."""
    how = "grew" if seen > item.size else "shrank"
    return ValidationError(f"{str(item.path)!r} {how} while uplinking.")


def _ignore(count: int) -> None:
    """A progress callback that does nothing."""
