# Theory of operation
#
# HTTPConnection is the whole HTTP/1.x state machine of one client connection, with no I/O: the
# transport hands it bytes (receive_data) and gets back events (small immutable tuples); the
# request layer asks it for the bytes of a response (send_*, framed by writer.py) and writes
# them itself.  h11 does the parsing; this module adds what h11 leaves to the server (see
# shared/reference/h11-gaps.md): head and request-line sizes counted independently of how the bytes
# were segmented, a header-count limit, a body-size limit checked against Content-Length before the
# body is read and against the bytes (and the declared chunk size) while it is read, HTTP versions
# other than 1.x, Content-Length together with Transfer-Encoding, Host syntax, and request-target
# forms.  Every violation becomes one ProtocolError event carrying the status to answer; after it
# the connection must be closed, because the framing can no longer be trusted.
#
# The sending half (send_*, keep_alive, detach) is the ResponseSide mixin of response_side.py.
#
# This is the reference engine.  The httptools engine (fast_engine.py) subclasses it: llhttp parses
# the common requests, and every other request goes through the h11 path here.  The events, the
# limits and the byte-level helpers both engines use are in common.py (re-exported here).
from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import h11

from .chunked import ChunkScanner
from .common import (
    ABSOLUTE_RE,
    BODY_END,
    CLIENT_CLOSED,
    CONTROL_RE,
    HOST_RE,
    BodyChunk,
    BodyEnd,
    ClientClosed,
    Event,
    Limits,
    ProtocolError,
    RequestHead,
    authority_error,
    head_end,
    head_length,
    header_dict,
    skip_empty_lines,
)
from .response_side import ResponseSide
from .writer import ResponseWriter

__all__ = [
    "BodyChunk",
    "BodyEnd",
    "ClientClosed",
    "Event",
    "HTTPConnection",
    "Limits",
    "ProtocolError",
    "RequestHead",
]

class HTTPConnection(ResponseSide):
    """One server-side HTTP/1.x connection: bytes in, events out; responses in, bytes out.

    The h11 engine, and the base of the httptools one (fast_engine.FastHTTPConnection), which
    shares its head accounting, its request checks (_accept), its response side, and hands it
    every request it does not parse itself."""

    #: The h11 connection parsing the current request; a subclass that parses most requests
    #: itself sets _H11_AT_START to False and creates one only when it needs it (_new_h11).
    _h11: h11.Connection
    _H11_AT_START: ClassVar[bool] = True

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        if self._H11_AT_START:
            self._h11 = self._new_h11()
        self._writer: ResponseWriter | None = None
        self._scan = bytearray()
        self._line_seen = False
        limits = self.limits
        self._fast_head_bytes = min(limits.max_request_line_bytes, limits.max_header_bytes)
        self._body_seen = 0
        self._chunked = False
        #: The framing check of the current chunked body (see chunked.py), else None.
        self._chunks: ChunkScanner | None = None
        #: The length of the last head _check_head saw complete (the bytes up to its blank line),
        #: and where in the bytes of the current receive_data call it ended.
        self._head_length = 0
        self._body_offset = 0
        #: Empty lines skipped before the current request line, and a CR that may start one.
        self._empty_lines = 0
        self._held_cr = False
        #: True once bytes arrived after a request that ends the connection; they are dropped.
        self._dropped = False
        self.failed = False

    def _new_h11(self) -> h11.Connection:
        limit = self.limits.max_header_bytes + 1
        return h11.Connection(h11.SERVER, max_incomplete_event_size=limit)

    # -- receiving -------------------------------------------------------------------------------

    @property
    def has_partial_head(self) -> bool:
        """True when some bytes of a head that is not complete yet have arrived."""
        return bool(self._scan)

    @property
    def unread(self) -> bool:
        """True when bytes arrived that no request consumed (pipelined after a request that
        ends the connection, or waiting for the next cycle): closing now could reset the
        connection before the client reads its response, so the channel lingers."""
        return self._dropped or bool(self._h11.trailing_data[0])

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the client (b"" at end of file); return the events they complete."""
        if self.failed:
            return []
        conn = self._h11
        state = conn.their_state
        if state is h11.IDLE and not self._scan:
            if not data:
                self._held_cr = False  # the client closed after a CR: nothing to answer
            elif self._held_cr or data[0] == 0x0D or data[0] == 0x0A:
                skipped = self._skip_empty_lines(data)
                if type(skipped) is list:
                    return skipped
                data = skipped  # type: ignore[assignment]
        elif state is h11.MUST_CLOSE and data:
            # RFC 9112 §9.6: after a request that closes the connection, the server reads no
            # more requests; whatever follows is dropped, not answered with a 400.
            self._dropped = True
            return []
        self._body_offset = len(data)
        # The fast path skips the head check for a whole head, alone and shorter than every
        # head limit, in one read: the common case.
        if (
            data
            and state is h11.IDLE
            and (
                self._scan
                or len(data) > self._fast_head_bytes
                or not data.endswith(b"\r\n\r\n")
                or data.count(b"\r\n\r\n") != 1
                or data.find(b"\n\n") >= 0  # a bare-LF blank line ended the head earlier
            )
        ):
            error = self._check_head(data)
            if error is not None:
                return [error]
        elif self._chunks is not None and data:
            refused = self._chunks.feed(data)
            if refused is not None:
                return [self._fail(*refused)]
        conn.receive_data(data)
        return self._events(data)

    def _skip_empty_lines(self, data: bytes) -> bytes | list[Event]:
        """`data` without the empty lines before a request line (see skip_empty_lines), at
        most limits.max_empty_lines of them; the events to return instead when nothing is
        left ([]) or there were too many ([400])."""
        if self._held_cr:
            data = b"\r" + data
        data, lines, self._held_cr = skip_empty_lines(data)
        self._empty_lines += lines
        if self._empty_lines > self.limits.max_empty_lines:
            return [self._fail(400, "too many empty lines before the request line")]
        return data if data else []

    def start_next_cycle(self) -> list[Event]:
        """Reset for the next request on a kept-alive connection; return any pipelined events."""
        # h11 only parses here (the writer frames responses), so its server side never reaches
        # DONE: a fresh h11 connection per request, fed what the previous one had buffered
        # (pipelined bytes, an end of file), costs less than h11's start_next_cycle.
        pending, closed = self._h11.trailing_data
        self._h11 = self._new_h11()
        self._reset()
        events = self.receive_data(pending) if pending else []
        if closed and not self.failed:
            events += self.receive_data(b"")
        return events

    def _reset(self) -> None:
        """Forget the request just finished (both engines, at start_next_cycle)."""
        self._writer = None
        self._body_seen = 0
        self._chunked = False
        self._chunks = None
        self._empty_lines = 0
        self._held_cr = False

    def _check_head(self, data: bytes) -> ProtocolError | None:
        """Count head bytes ourselves: h11 only limits heads that arrive in several reads."""
        # Only the new bytes are searched (with two bytes of overlap for the blank line), so a
        # head trickled a byte at a time costs linear, not quadratic, work.
        scan = self._scan
        seen = len(scan)
        scan += data
        limits = self.limits
        if not self._line_seen:
            line_end = scan.find(b"\n", seen)
            line_len = len(scan) if line_end < 0 else line_end
            if line_len > limits.max_request_line_bytes + 1:
                return self._fail(414, "request line too long")
            self._line_seen = line_end >= 0
        end = head_end(scan, max(0, seen - 2))
        if end < 0:
            if len(scan) > limits.max_header_bytes:
                return self._fail(431, "request head too large")
            return None
        self._scan = bytearray()
        self._line_seen = False
        if end > limits.max_header_bytes:
            return self._fail(431, "request head too large")
        self._head_length = length = head_length(scan, end)
        self._body_offset = length - seen
        return None

    def _events(self, data: bytes = b"") -> list[Event]:
        """The events h11 has for the bytes fed so far; `data` is the last of them, whose
        part after a chunked request's head the chunk check must see before the events go."""
        events: list[Event] = []
        conn = self._h11
        while True:
            if conn.their_state is h11.MUST_CLOSE:
                # The request ended the connection: what follows it is never parsed (see
                # receive_data), so it cannot turn into a 400 after the real answer; it stays
                # in h11's buffer, which `unread` reads.
                return events
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                events.append(self._fail(exc.error_status_hint, str(exc)))
                return events
            kind = type(event)
            if kind is h11.Data:
                body = event.data  # type: ignore[union-attr]
                self._body_seen += len(body)
                if self._body_seen > self.limits.max_body_bytes:
                    events.append(self._fail(413, "request body too large"))
                    return events
                events.append(BodyChunk(body))
            elif kind is h11.Request:
                head = self._validate(event)  # type: ignore[arg-type]
                events.append(head)
                if type(head) is ProtocolError:
                    return events
                if self._chunked:
                    error = self._start_chunks(data[self._body_offset:])
                    if error is not None:
                        events.append(error)
                        return events
            elif kind is h11.EndOfMessage:
                events.append(BODY_END)
            elif kind is h11.ConnectionClosed:
                events.append(CLIENT_CLOSED)
                return events
            else:  # NEED_DATA or PAUSED
                return events

    def _start_chunks(self, body: bytes) -> ProtocolError | None:
        """Start checking a chunked body with the bytes of it that came with its head (h11
        has them already, and parses them only once these events are returned)."""
        limits = self.limits
        self._chunks = ChunkScanner(limits.max_chunk_line_bytes, limits.max_body_bytes)
        error = self._chunks.feed(body) if body else None
        return None if error is None else self._fail(*error)

    def _validate(self, req: h11.Request) -> RequestHead | ProtocolError:
        items = _header_items(req.headers)
        return self._accept(
            req.method,
            req.target,
            req.http_version,
            header_dict(items),
            len(items),
            self._h11.they_are_waiting_for_100_continue,
            CONTROL_RE.search(b" ".join([value for _, value in items])) is not None,
        )

    def _accept(
        self,
        method: bytes,
        target: bytes,
        version: bytes,
        headers: dict[bytes, list[bytes]],
        count: int,
        expect_continue: bool,
        control: bool,
    ) -> RequestHead | ProtocolError:
        """Check a parsed request (`headers` from header_dict, `count` fields in all, `control`
        whether a value has a control byte) for what the parser leaves to the server, and start
        the response framing.  Both engines end here, so a request gets the same answer on
        both."""
        if not version.startswith(b"1."):
            return self._fail(505, "HTTP version not supported")
        if count > self.limits.max_header_count:
            return self._fail(431, "too many request headers")
        if control:
            return self._fail(400, "control character in a header value")
        content_length: int | None = None
        chunked = b"transfer-encoding" in headers
        if b"content-length" in headers:
            content_length = int(headers[b"content-length"][0])
        host = headers.get(b"host")
        if host is not None and HOST_RE.fullmatch(host[0]) is None:
            return self._fail(400, "invalid Host header")
        if chunked and content_length is not None:
            # RFC 9112 §6.1: a server MAY reject this; keeping the connection open smuggles.
            return self._fail(400, "Content-Length together with Transfer-Encoding")
        if chunked and version == b"1.0":
            # RFC 9112 §6.1: an HTTP/1.0 peer cannot mean chunked; a front proxy may frame the
            # body otherwise.
            return self._fail(400, "Transfer-Encoding in an HTTP/1.0 request")
        if not target.startswith(b"/"):
            if target == b"*":
                if method != b"OPTIONS":
                    return self._fail(400, "asterisk-form target is only for OPTIONS")
            elif ABSOLUTE_RE.match(target) is not None:
                error = authority_error(target)
                if error is not None:
                    return self._fail(400, error)
            elif method != b"CONNECT":
                return self._fail(400, "authority-form target is only for CONNECT")
        if content_length is not None and content_length > self.limits.max_body_bytes:
            return self._fail(413, "request body too large")
        self._chunked = chunked
        connection = headers.get(b"connection")
        client_keep_alive = not (
            connection and any(v.lower().find(b"close") >= 0 for v in connection)
        )
        upgradable = b"upgrade" in headers and version != b"1.0"
        self._writer = ResponseWriter(method, version, client_keep_alive, upgradable)
        return RequestHead(
            method, target, version, headers, expect_continue, content_length, chunked
        )

    def _fail(self, status: int, reason: str) -> ProtocolError:
        self.failed = True
        return ProtocolError(status, reason)


def _header_items(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """(lower-case name, value) pairs.  Iterating h11's Headers goes through the Sequence
    protocol one item at a time; its private item list is read directly when it is there
    (h11 is pinned below 0.17, and tests/test_dependencies.py checks the list's shape)."""
    full = getattr(headers, "_full_items", None)
    if full is not None:
        return [(name, value) for _, name, value in full]
    return list(headers)
