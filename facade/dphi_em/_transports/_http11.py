"""HTTP/1.1 framing for the facade's small calls (the lean path, `_async._lean`).

A small call (a listing, a status, a token: a request whose body is in memory, an answer of
a few KiB) spent about 0.7 ms of client CPU in httpcore's pool and h11 on loopback, ten
times what the bytes need. The lean path writes the request head and body in one write and
reads the answer with the rules below; this module is that reading and writing, without
I/O, so every framing case is tested on its own (`tests/unit/test_facade_lean.py`).

What it keeps of h11 (the parser httpx uses):

- **Request**: `METHOD target HTTP/1.1`, then the request's headers as httpx built them
  (`Host` first); a method or header name that is not an HTTP token, or a header value
  holding CR, LF or NUL, is refused (`httpx.LocalProtocolError`) before anything is sent.
- **Answer head**: a status line `HTTP/1.x NNN reason` (status 100 to 999), header lines
  `name: value` (a folded line joins the one before), lines ended by CRLF or LF, at most
  `MAX_HEAD` bytes; interim `1xx` answers other than `101` are skipped. The framing headers
  are checked as h11 checks them, in every head: one `Transfer-Encoding` header, `chunked`
  and nothing else; every `Content-Length` value 1 to 20 digits, all the same. Anything else
  is a `httpx.RemoteProtocolError`.
- **Answer body** (RFC 9112 section 6.3): none for `HEAD`, `1xx`, `204` and `304`;
  `Transfer-Encoding: chunked`; else `Content-Length`; else up to the end of the connection.
- **Reuse**: only after an HTTP/1.1 answer read to its end with neither side saying
  `Connection: close`, and with no byte after the answer's end.
"""

from __future__ import annotations

import re

import httpx

__all__ = [
    "BODY_CHUNKED",
    "BODY_LENGTH",
    "BODY_NONE",
    "BODY_UNTIL_CLOSE",
    "MAX_HEAD",
    "ChunkedReader",
    "Head",
    "body_framing",
    "head_end",
    "parse_head",
    "request_head",
]

#: Most bytes of an answer's head (httpcore's limit for h11).
MAX_HEAD = 100 * 1024

BODY_NONE = 0
BODY_LENGTH = 1
BODY_CHUNKED = 2
BODY_UNTIL_CLOSE = 3

_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\r\n\x00]")
_STATUS_LINE = re.compile(rb"HTTP/1\.([0-9]) ([1-9][0-9]{2})(?: ([^\x00\r\n]*))?")
_HEADER_LINE = re.compile(rb"([-!#$%&'*+.^_`|~0-9A-Za-z]+):[ \t]*([^\x00\r\n]*?)[ \t]*")
_HEAD_END = re.compile(rb"\n\r?\n")
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,20})[ \t]*(?:;[^\r\n]*)?\r?\n")
_LENGTH = re.compile(rb"[0-9]{1,20}")  # h11's Content-Length: digits, at most 20
#: The methods `request_head` has found to be tokens (a set lookup a call, not a match).
_METHODS: set[bytes] = set()


def _refuse(message: str) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(message)


def request_head(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The head of a request, as h11 writes it.

    Raises:
        httpx.LocalProtocolError: A method or header name that is not a token (RFC 9110),
            or a header value holding CR, LF or NUL.
    """
    if method not in _METHODS:
        if not _TOKEN.fullmatch(method):
            raise httpx.LocalProtocolError(
                f"Illegal method characters: {method[:80]!r} (a method is an HTTP token: "
                "letters, digits and !#$%&'*+-.^_`|~)"
            )
        if len(_METHODS) < 64:
            _METHODS.add(method)
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            raise httpx.LocalProtocolError(f"Illegal header: {name!r}: {value!r}")
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def head_end(buffer: bytes | bytearray) -> int:
    """Where the answer's head in `buffer` ends (its blank line included), or -1.

    Raises:
        httpx.RemoteProtocolError: No end within `MAX_HEAD` bytes.
    """
    found = _HEAD_END.search(buffer)
    if found is None:
        if len(buffer) > MAX_HEAD:
            raise _refuse(f"the answer's head is larger than {MAX_HEAD} bytes")
        return -1
    if found.end() > MAX_HEAD:
        raise _refuse(f"the answer's head is larger than {MAX_HEAD} bytes")
    return found.end()


class Head:
    """An answer's status line and headers (`headers`: names and values as sent), and its
    framing headers as checked (`length`: the `Content-Length`, or None; `chunked`)."""

    __slots__ = ("chunked", "headers", "length", "minor", "reason", "status")

    def __init__(
        self,
        minor: int,
        status: int,
        reason: bytes,
        headers: list[tuple[bytes, bytes]],
        length: int | None = None,
        chunked: bool = False,
    ) -> None:
        self.minor = minor
        self.status = status
        self.reason = reason
        self.headers = headers
        self.length = length
        self.chunked = chunked

    def values(self, name: bytes) -> list[bytes]:
        """The comma-separated values of header `name` (lower case), stripped, lower case."""
        found: list[bytes] = []
        for key, value in self.headers:
            if key.lower() == name:
                found += (part.strip().lower() for part in value.split(b","))
        return [value for value in found if value]


def parse_head(head: bytes) -> Head:
    """The status line and headers of `head` (its blank line included or not).

    Raises:
        httpx.RemoteProtocolError: Not an HTTP/1.x answer's head, or framing headers h11
            refuses (see the module docstring).
    """
    lines = head.split(b"\n")
    first = lines[0].rstrip(b"\r")
    status = _STATUS_LINE.fullmatch(first)
    if status is None:
        raise _refuse(f"not an HTTP/1.x status line (status 100 to 999): {first[:80]!r}")
    headers: list[tuple[bytes, bytes]] = []
    for raw in lines[1:]:
        line = raw.rstrip(b"\r")
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):  # obsolete line folding: part of the value before
            if not headers or _BAD_VALUE.search(line):
                raise _refuse(f"a header line continues nothing: {line[:80]!r}")
            name, value = headers[-1]
            headers[-1] = (name, (value + b" " + line.strip(b" \t")).strip(b" "))
            continue
        header = _HEADER_LINE.fullmatch(line)
        if header is None:
            raise _refuse(f"not a header line: {line[:80]!r}")
        headers.append((header[1], header[2]))
    length: bytes | None = None
    chunked = False
    for name, value in headers:  # after folding: a folded line is part of its value
        lowered = name.lower()
        if lowered == b"content-length":
            lengths = {part.strip() for part in value.split(b",")}
            if len(lengths) != 1 or length not in (None, *lengths):
                raise _refuse(f"bad Content-Length: conflicting values {value[:80]!r}")
            length = lengths.pop()
            if not _LENGTH.fullmatch(length):
                raise _refuse(f"bad Content-Length: {value[:80]!r} (1 to 20 digits)")
        elif lowered == b"transfer-encoding":
            if chunked:
                raise _refuse("multiple Transfer-Encoding headers")
            if value.lower() != b"chunked":
                raise _refuse(
                    f"unsupported Transfer-Encoding: {value[:80]!r} (only chunked is supported)"
                )
            chunked = True
    return Head(
        int(status[1]),
        int(status[2]),
        status[3] or b"",
        headers,
        None if length is None else int(length),
        chunked,
    )


def body_framing(method: bytes, head: Head) -> tuple[int, int]:
    """How the answer's body is delimited: (`BODY_*`, its length for `BODY_LENGTH`).

    (`parse_head` checked the framing headers.)
    """
    if method == b"HEAD" or head.status in (204, 304) or head.status < 200:
        return BODY_NONE, 0
    if head.chunked:
        return BODY_CHUNKED, 0
    if head.length is None:
        return BODY_UNTIL_CLOSE, 0
    return BODY_LENGTH, head.length


def keeps_alive(head: Head) -> bool:
    """Whether the server lets the connection carry another request after this answer."""
    return head.minor == 1 and b"close" not in head.values(b"connection")


class ChunkedReader:
    """A chunked body, decoded from what the socket gives, piece by piece.

    `feed(data)` returns the body bytes `data` completes; once the last chunk and its
    trailers are read, `done` is True and `extra` holds any bytes after the body's end.
    """

    __slots__ = ("_buffer", "_left", "_trailers", "done", "extra")

    def __init__(self) -> None:
        self._buffer = b""
        self._left = 0  # bytes of the current chunk still to come (then its CRLF)
        self._trailers = False
        self.done = False
        self.extra = b""

    def feed(self, data: bytes) -> list[bytes]:
        """The body bytes in `data` (and what was kept from before).

        Raises:
            httpx.RemoteProtocolError: A malformed chunk.
        """
        buffer = self._buffer + data if self._buffer else data
        out: list[bytes] = []
        while not self.done:
            if self._left > 0:
                piece = buffer[: self._left]
                if piece:
                    out.append(piece)
                self._left -= len(piece)
                buffer = buffer[len(piece) :]
                if self._left > 0:
                    break
                self._left = -1  # the chunk's CRLF next
            if self._left < 0:
                if len(buffer) < 2 and buffer in (b"", b"\r"):
                    break
                if buffer[:2] == b"\r\n":
                    buffer = buffer[2:]
                elif buffer[:1] == b"\n":
                    buffer = buffer[1:]
                else:
                    raise _refuse("a chunk does not end where its size says")
                self._left = 0
            if self._trailers:
                end = buffer.find(b"\n")
                if end < 0:
                    break
                line, buffer = buffer[:end].rstrip(b"\r"), buffer[end + 1 :]
                if not line:
                    self.done = True
                    break
                if not _HEADER_LINE.fullmatch(line):
                    raise _refuse(f"not a trailer line: {line[:80]!r}")
                continue
            size_line = _CHUNK_LINE.match(buffer)
            if size_line is None:
                if b"\n" in buffer or len(buffer) > 1024:
                    raise _refuse(f"not a chunk size line: {buffer[:80]!r}")
                break
            buffer = buffer[size_line.end() :]
            self._left = int(size_line[1], 16)
            if self._left == 0:
                self._trailers = True
        if len(buffer) > MAX_HEAD:
            raise _refuse(f"the chunked body's trailers are larger than {MAX_HEAD} bytes")
        if self.done:
            self.extra, self._buffer = buffer, b""
        else:
            self._buffer = buffer
        return out
