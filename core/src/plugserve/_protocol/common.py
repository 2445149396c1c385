"""What both HTTP engines share: the events they produce, the size limits, and the byte-level
helpers whose answers must not depend on the engine (where a head ends, what a valid Host is,
which request-target forms a method may use, whether a request waits for 100 Continue).

The engines (h11_engine.py on h11, fast_engine.py on httptools) differ only in how they turn bytes
into a request line and header fields; everything that decides a status code from those fields
lives here or in the HTTPConnection base class, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, NamedTuple

__all__ = [
    "ABSOLUTE_RE",
    "BODY_END",
    "CLIENT_CLOSED",
    "CONTROL_RE",
    "HOST_RE",
    "BodyChunk",
    "BodyEnd",
    "ClientClosed",
    "Event",
    "Limits",
    "ProtocolError",
    "RequestHead",
    "authority_error",
    "expects_continue",
    "head_end",
    "head_length",
    "header_dict",
    "skip_empty_lines",
]


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits of one connection; each has a CLI flag (see plugserve.config)."""

    max_request_line_bytes: int = 8192
    max_header_bytes: int = 16384
    max_header_count: int = 100
    max_body_bytes: int = 100 * 1024 * 1024
    #: A chunk-size line with its extensions (Twisted's maxChunkSizeLineLength is 1024 too).
    max_chunk_line_bytes: int = 1024
    #: Empty lines ignored before a request line (RFC 9112 §2.2 says at least one SHOULD be).
    max_empty_lines: int = 8


class RequestHead(NamedTuple):
    """A request line and its headers: lower-case name -> values in arrival order.

    A NamedTuple rather than a frozen dataclass: just as immutable, and built several times
    faster, which matters once per request."""

    method: bytes
    target: bytes
    http_version: bytes
    headers: dict[bytes, list[bytes]]
    expect_continue: bool
    content_length: int | None
    chunked: bool


class BodyChunk(NamedTuple):
    """A piece of the request body."""

    data: bytes


@dataclass(frozen=True, slots=True)
class BodyEnd:
    """The request body is complete (trailers are dropped, never merged into the headers)."""


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """The client broke the protocol or a limit; answer `status` and close."""

    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class ClientClosed:
    """The client closed its side between requests."""


Event = RequestHead | BodyChunk | BodyEnd | ProtocolError | ClientClosed

BODY_END: Final = BodyEnd()
CLIENT_CLOSED: Final = ClientClosed()

# RFC 9112 §3.2 + RFC 3986 §3.2.2: Host = uri-host [ ":" port ]; an empty value is allowed.
HOST_RE: Final = re.compile(
    rb"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::[0-9]*)?"
)
ABSOLUTE_RE: Final = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*://")
# RFC 9110 §5.5: a field value holds no control byte but HTAB.  Searched over a whole head (the
# fast engine) or over the joined values (h11), so CR and LF, the line ends, are left out here:
# both parsers refuse them inside a value themselves.
CONTROL_RE: Final = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def authority_error(target: bytes) -> str | None:
    """Why the authority of the absolute-form `target` is unacceptable, or None.

    It replaces Host (RFC 9112 §3.2.2), so it passes Host's check (HOST_RE); an http URI
    with an empty host is invalid (RFC 9110 §4.2.1), and userinfo is refused outright (RFC 9110
    §4.2.4: it is deprecated, and `good@evil` is a phishing trick)."""
    rest = target[target.find(b"://") + 3:]
    end = len(rest)
    for stop in (b"/", b"?", b"#"):
        found = rest.find(stop, 0, end)
        if found >= 0:
            end = found
    authority = rest[:end]
    if authority.find(b"@") >= 0:
        return "userinfo in the request target"
    if not authority or authority.startswith(b":") or HOST_RE.fullmatch(authority) is None:
        return "invalid authority in the request target"
    return None


def head_end(data: bytes | bytearray, start: int = 0) -> int:
    """Index of the blank line that ends a head (h11 accepts bare LF line ends), or -1.

    The index is that of the LF ending the last header line: the head is `end + 3` bytes long
    when the blank line is CRLF, `end + 2` when it is a bare LF (see head_length)."""
    crlf = data.find(b"\n\r\n", start)
    lf = data.find(b"\n\n", start)
    if crlf < 0:
        return lf
    if lf < 0:
        return crlf
    return min(crlf, lf)


def head_length(data: bytes | bytearray, end: int) -> int:
    """The length of the head whose blank line head_end found at `end`."""
    return end + 2 if data[end + 1] == 0x0A else end + 3


def header_dict(items: list[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    """(lower-case name, value) pairs -> name: values in arrival order."""
    headers: dict[bytes, list[bytes]] = {}
    for name, value in items:
        values = headers.get(name)
        if values is None:
            headers[name] = [value]
        else:
            values.append(value)
    return headers


def expects_continue(http_version: bytes, headers: dict[bytes, list[bytes]]) -> bool:
    """True when the client waits for 100 Continue before sending its body: HTTP/1.1 or later
    and a `100-continue` expectation (RFC 9110 §10.1.1), decided exactly as h11 decides it."""
    values = headers.get(b"expect")
    if values is None or http_version < b"1.1":
        return False
    return any(
        part.strip().lower() == b"100-continue"
        for value in values
        for part in value.split(b",")
    )


def skip_empty_lines(data: bytes) -> tuple[bytes, int, bool]:
    """`data` without its leading empty lines (CRLF or bare LF; RFC 9112 §2.2 says a server
    SHOULD ignore at least one before a request line), how many there were, and whether a
    last CR was held back: the byte after it decides whether it starts an empty line."""
    pos, size, lines = 0, len(data), 0
    while pos < size:
        byte = data[pos]
        if byte == 0x0A:
            pos += 1
        elif byte == 0x0D and pos + 1 == size:
            return b"", lines, True
        elif byte == 0x0D and data[pos + 1] == 0x0A:
            pos += 2
        else:
            break
        lines += 1
    return (data[pos:] if pos else data), lines, False
