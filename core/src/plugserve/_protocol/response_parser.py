"""A strict, sans-I/O parser of HTTP/1.1 responses, for `plugserve.client` (and so the proxy).

An upstream's response is parsed as strictly as a client's request (reference/h11-gaps.md), since
a proxy that frames a response differently from its upstream can be made to splice one client's
response into another's (response splitting, cache poisoning).  Refused, each as a
`ResponseError`, after which the connection must be discarded:

- a status line that is not `HTTP/1.x DDD reason`, a bare CR or LF in the head, obs-fold, a field
  name that is not a token, a control byte in a value, a head over the size or count limit;
- `Content-Length` together with `Transfer-Encoding`, two different lengths, a length that is not
  digits, a `Transfer-Encoding` other than exactly `chunked`;
- a chunk-size line outside RFC 9112 §7.1's grammar, chunk data not followed by CRLF;
- any byte after a response that has no body (HEAD, 1xx, 204, 304) or after the body's end:
  nothing is pipelined, so those bytes are a framing attack or a broken upstream.

A body with neither length nor chunking runs until the upstream closes (`close_delimited`); one
that ends early (`feed_eof` before the declared end) is a `ResponseError` too, never a complete
body.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from .chunked import SIZE_LINE
from .common import CONTROL_RE

__all__ = ["BodyData", "ResponseError", "ResponseHead", "ResponseParser", "body_allowed"]

_TOKEN_RE: Final = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_STATUS_RE: Final = re.compile(rb"HTTP/1\.([0-9]) ([1-9][0-9][0-9])(?: ([\t -~\x80-\xff]*))?")
_DIGITS_RE: Final = re.compile(rb"[0-9]{1,19}")
_HEAD, _BODY, _CHUNK_LINE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILERS, _DONE = range(7)


class ResponseError(Exception):
    """The upstream broke HTTP/1.1's framing or a limit; the reason is for the log."""


class ResponseHead(NamedTuple):
    """A status line and its headers, lower-case names in arrival order, repeats kept."""

    status: int
    reason: bytes
    http_version: bytes
    headers: list[tuple[bytes, bytes]]
    #: The declared body length, or None (chunked, close-delimited or no body).
    content_length: int | None
    chunked: bool
    #: The connection may carry another request after this response.
    keep_alive: bool


class BodyData(NamedTuple):
    """A piece of the response body."""

    data: bytes


def body_allowed(method: bytes, status: int) -> bool:
    """Whether a response to `method` with `status` has a body (RFC 9112 §6.3)."""
    return not (method == b"HEAD" or status < 200 or status in (204, 304)
                or (method == b"CONNECT" and status < 300))


class ResponseParser:
    """Turns the bytes of one connection into response events, for one request at a time.

    Call `start(method)` before each request; `feed(data)` returns the events the bytes complete:
    `ResponseHead` (interim 1xx heads first, then the final one), `BodyData`, and `None` for the
    end of the response.  After a 101 the parser stops: `leftover` holds the bytes that followed
    the head, which belong to the new protocol."""

    __slots__ = ("_buffer", "_chunked", "_max_count", "_max_head", "_method", "_remaining",
                 "_state", "close_delimited", "keep_alive", "leftover", "switched")

    def __init__(self, max_head_bytes: int = 65536, max_header_count: int = 100) -> None:
        self._max_head = max_head_bytes
        self._max_count = max_header_count
        self._buffer = b""
        self._method = b"GET"
        self._state = _DONE
        self._remaining = 0
        self._chunked = False
        self.close_delimited = False
        self.keep_alive = True
        self.switched = False
        self.leftover = b""

    @property
    def done(self) -> bool:
        """The current response is complete."""
        return self._state == _DONE

    def start(self, method: bytes) -> None:
        """Expect the response to a `method` request."""
        if self._buffer:
            raise ResponseError("bytes before the response head")
        self._method = method
        self._state = _HEAD
        self.close_delimited = False

    def feed(self, data: bytes) -> list[ResponseHead | BodyData | None]:
        """The events that `data` completes (see the class docstring)."""
        if self._state == _DONE or self.switched:
            if data:
                raise ResponseError("bytes after the end of the response")
            return []
        buffer = self._buffer + data if self._buffer else data
        self._buffer = b""
        events: list[ResponseHead | BodyData | None] = []
        while buffer or self._state == _DONE:
            state = self._state
            if state == _BODY:
                if self.close_delimited:
                    events.append(BodyData(buffer))
                    return events
                take = buffer[: self._remaining]
                self._remaining -= len(take)
                buffer = buffer[len(take):]
                events.append(BodyData(take))
                if not self._remaining:
                    self._state = _DONE
            elif state == _CHUNK_DATA:
                take = buffer[: self._remaining]
                self._remaining -= len(take)
                buffer = buffer[len(take):]
                events.append(BodyData(take))
                if not self._remaining:
                    self._state = _CHUNK_CRLF
            elif state == _DONE:
                events.append(None)
                if buffer:
                    raise ResponseError("bytes after the end of the response")
                return events
            elif state == _TRAILERS:
                if buffer.startswith(b"\r\n"):  # no trailer fields
                    buffer = buffer[2:]
                    self._state = _DONE
                    continue
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    self._keep(buffer, state)
                    return events
                self._fields(buffer[:end + 2])  # checked as header lines, then dropped
                buffer = buffer[end + 4:]
                self._state = _DONE
            elif state == _HEAD:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    self._keep(buffer, state)
                    return events
                events.append(self._head(buffer[:end + 2]))
                buffer = buffer[end + 4:]
                if self.switched:
                    self.leftover = buffer
                    return events
            else:
                end = buffer.find(b"\r\n")
                if end < 0:
                    self._keep(buffer, state)
                    return events
                if state == _CHUNK_LINE:
                    self._chunk_line(buffer[:end + 1])
                    buffer = buffer[end + 2:]
                else:  # _CHUNK_CRLF
                    if end != 0:
                        raise ResponseError("chunk data not followed by CRLF")
                    buffer = buffer[2:]
                    self._state = _CHUNK_LINE
        return events

    def _keep(self, buffer: bytes, state: int) -> None:
        limit = self._max_head if state in (_HEAD, _TRAILERS) else 1024
        if len(buffer) > limit:
            raise ResponseError("response head too large" if state == _HEAD
                                else "chunk-size line or trailers too large")
        if state == _CHUNK_CRLF and buffer != b"\r":
            raise ResponseError("chunk data not followed by CRLF")
        self._buffer = buffer

    def feed_eof(self) -> list[ResponseHead | BodyData | None]:
        """The upstream closed: the end of a close-delimited body, else an error (unless no
        response was due)."""
        if self._state == _BODY and self.close_delimited:
            self._state = _DONE
            self.keep_alive = False
            return [None]
        if self._state == _DONE or self.switched:
            return []
        raise ResponseError("the upstream closed the connection before the response ended"
                            if self._state != _HEAD or self._buffer
                            else "the upstream closed the connection without a response")

    def _head(self, head: bytes) -> ResponseHead:
        if len(head) > self._max_head:
            raise ResponseError("response head too large")
        line_end = head.find(b"\r\n")
        match = _STATUS_RE.fullmatch(head, 0, line_end)
        if match is None:
            raise ResponseError("invalid status line")
        minor, code, reason = match.groups()
        status = int(code)
        headers = self._fields(head[line_end + 2:])
        length: int | None = None
        chunked = False
        connection: list[bytes] = []
        for name, value in headers:
            if name == b"content-length":
                for item in value.split(b","):
                    item = item.strip(b" \t")
                    if _DIGITS_RE.fullmatch(item) is None:
                        raise ResponseError("invalid Content-Length")
                    if length is not None and int(item) != length:
                        raise ResponseError("two different Content-Length values")
                    length = int(item)
            elif name == b"transfer-encoding":
                if chunked or value.strip(b" \t").lower() != b"chunked":
                    raise ResponseError("Transfer-Encoding other than chunked")
                chunked = True
            elif name == b"connection":
                connection.extend(t.strip(b" \t").lower() for t in value.split(b","))
        if chunked and length is not None:
            raise ResponseError("both Content-Length and Transfer-Encoding")
        keep_alive = minor != b"0" and b"close" not in connection
        if status == 101:
            self.switched = True
            self._state = _DONE
        elif status < 200:
            self._state = _HEAD  # an interim response: the final one follows
        elif not body_allowed(self._method, status):
            self._state = _DONE
        elif chunked:
            self._state = _CHUNK_LINE
        elif length is not None:
            self._remaining = length
            self._state = _BODY if length else _DONE
        else:
            self.close_delimited = True
            keep_alive = False
            self._state = _BODY
        if status >= 200:
            self.keep_alive = keep_alive
        return ResponseHead(status, reason or b"", b"1." + minor, headers,
                            length if not chunked else None, chunked, keep_alive)

    def _fields(self, block: bytes) -> list[tuple[bytes, bytes]]:
        crlf = block.count(b"\r\n")
        if block.count(b"\r") != crlf or block.count(b"\n") != crlf:
            raise ResponseError("bare CR or LF in the response head")
        lines = block.split(b"\r\n")
        lines.pop()  # the empty string after the last CRLF
        if len(lines) > self._max_count:
            raise ResponseError("too many response header fields")
        fields: list[tuple[bytes, bytes]] = []
        token = _TOKEN_RE.fullmatch
        for line in lines:
            name, colon, value = line.partition(b":")
            if not colon or token(name) is None:
                raise ResponseError("invalid response header line (obs-fold or a bad name)")
            value = value.strip(b" \t")
            if CONTROL_RE.search(value) is not None:
                raise ResponseError("control byte in a response header value")
            fields.append((name.lower(), value))
        return fields

    def _chunk_line(self, line: bytes) -> None:
        match = SIZE_LINE.fullmatch(line)  # the line with its CR
        if match is None:
            raise ResponseError("invalid chunk-size line")
        size = int(match.group(1), 16)
        if size:
            self._remaining = size
            self._state = _CHUNK_DATA
        else:
            self._state = _TRAILERS
