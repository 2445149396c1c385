# Theory of operation
#
# HTTPConnection is the whole HTTP/1.x state machine of one client connection, with no I/O: the
# transport hands it bytes (receive_data) and gets back events (small immutable tuples); the
# request layer asks it for the bytes of a response (send_*, framed by _writer.py) and writes
# them itself.  h11 does the parsing; this module adds what h11 leaves to the server (see
# shared/reference/h11-gaps.md): head and request-line sizes counted independently of how the bytes
# were segmented, a header-count limit, a body-size limit checked against Content-Length before the
# body is read and against the bytes (and the declared chunk size) while it is read, HTTP versions
# other than 1.x, Content-Length together with Transfer-Encoding, Host syntax, and request-target
# forms.  Every violation becomes one ProtocolError event carrying the status to answer; after it
# the connection must be closed, because the framing can no longer be trusted.
#
# This is the reference engine.  The httptools engine (_http_fast.py) subclasses it: llhttp parses
# the common requests, and every other request goes through the h11 path here.  The events, the
# limits and the byte-level helpers both engines use are in _http_common.py (re-exported here).
from __future__ import annotations

from typing import ClassVar, Final

import h11

from ._http_common import (
    ABSOLUTE_RE,
    BODY_END,
    CLIENT_CLOSED,
    HOST_RE,
    BodyChunk,
    BodyEnd,
    ClientClosed,
    Event,
    Limits,
    ProtocolError,
    RequestHead,
    head_end,
    head_length,
    header_dict,
)
from ._writer import ResponseWriter

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

# h11 imports MIGHT_SWITCH_PROTOCOL at top level but leaves it out of __all__.
_REQUEST_COMPLETE: Final = frozenset({h11.DONE, h11._state.MIGHT_SWITCH_PROTOCOL})


class HTTPConnection:
    """One server-side HTTP/1.x connection: bytes in, events out; responses in, bytes out.

    The h11 engine, and the base of the httptools one (_http_fast.FastHTTPConnection), which
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
        #: The length of the last head _check_head saw complete (the bytes up to its blank line).
        self._head_length = 0
        self.failed = False

    def _new_h11(self) -> h11.Connection:
        limit = self.limits.max_header_bytes + 1
        return h11.Connection(h11.SERVER, max_incomplete_event_size=limit)

    # -- receiving -------------------------------------------------------------------------------

    @property
    def has_partial_head(self) -> bool:
        """True when some bytes of a head that is not complete yet have arrived."""
        return bool(self._scan)

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the client (b"" at end of file); return the events they complete."""
        if self.failed:
            return []
        # The fast path skips the head check for a whole head, alone and shorter than every
        # head limit, in one read: the common case.
        if (
            data
            and self._h11.their_state is h11.IDLE
            and (
                self._scan
                or len(data) > self._fast_head_bytes
                or not data.endswith(b"\r\n\r\n")
                or data.count(b"\r\n\r\n") != 1
            )
        ):
            error = self._check_head(data)
            if error is not None:
                return [error]
        self._h11.receive_data(data)
        return self._events()

    def start_next_cycle(self) -> list[Event]:
        """Reset for the next request on a kept-alive connection; return any pipelined events."""
        # h11 only parses here (the writer frames responses), so its server side never reaches
        # DONE: a fresh h11 connection per request, fed what the previous one had buffered
        # (pipelined bytes, an end of file), costs less than h11's start_next_cycle.
        pending, closed = self._h11.trailing_data
        self._h11 = self._new_h11()
        self._writer = None
        self._body_seen = 0
        self._chunked = False
        if pending:
            error = self._check_head(pending)
            if error is not None:
                return [error]
            self._h11.receive_data(pending)
        if closed:
            self._h11.receive_data(b"")
        return self._events()

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
        self._head_length = head_length(scan, end)
        return None

    def _events(self) -> list[Event]:
        events: list[Event] = []
        conn = self._h11
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                events.append(self._fail(exc.error_status_hint, str(exc)))
                return events
            kind = type(event)
            if kind is h11.Data:
                data = event.data  # type: ignore[union-attr]
                self._body_seen += len(data)
                if self._body_too_large():
                    events.append(self._fail(413, "request body too large"))
                    return events
                events.append(BodyChunk(data))
            elif kind is h11.Request:
                head = self._validate(event)  # type: ignore[arg-type]
                events.append(head)
                if type(head) is ProtocolError:
                    return events
            elif kind is h11.EndOfMessage:
                events.append(BODY_END)
            elif kind is h11.ConnectionClosed:
                events.append(CLIENT_CLOSED)
                return events
            else:  # NEED_DATA or PAUSED
                if self._chunked and self._body_too_large():
                    events.append(self._fail(413, "request body too large"))
                return events

    def _body_too_large(self) -> bool:
        declared = self._body_seen
        if self._chunked:
            # h11 does not expose the size a chunk header declared; peek at it so a huge chunk
            # is refused at once instead of after the client has sent the limit's worth.
            reader = getattr(self._h11, "_reader", None)
            declared += getattr(reader, "_bytes_in_chunk", 0) or 0
        return declared > self.limits.max_body_bytes

    def _validate(self, req: h11.Request) -> RequestHead | ProtocolError:
        items = _header_items(req.headers)
        return self._accept(
            req.method,
            req.target,
            req.http_version,
            header_dict(items),
            len(items),
            self._h11.they_are_waiting_for_100_continue,
        )

    def _accept(
        self,
        method: bytes,
        target: bytes,
        version: bytes,
        headers: dict[bytes, list[bytes]],
        count: int,
        expect_continue: bool,
    ) -> RequestHead | ProtocolError:
        """Check a parsed request (`headers` from header_dict, `count` fields in all) for what
        the parser leaves to the server, and start the response framing.  Both engines end
        here, so a request gets the same status on both."""
        if not version.startswith(b"1."):
            return self._fail(505, "HTTP version not supported")
        if count > self.limits.max_header_count:
            return self._fail(431, "too many request headers")
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
        if not target.startswith(b"/"):
            if target == b"*":
                if method != b"OPTIONS":
                    return self._fail(400, "asterisk-form target is only for OPTIONS")
            elif ABSOLUTE_RE.match(target) is None and method != b"CONNECT":
                return self._fail(400, "authority-form target is only for CONNECT")
        if content_length is not None and content_length > self.limits.max_body_bytes:
            return self._fail(413, "request body too large")
        self._chunked = chunked
        connection = headers.get(b"connection")
        client_keep_alive = not (
            connection and any(v.lower().find(b"close") >= 0 for v in connection)
        )
        self._writer = ResponseWriter(method, version, client_keep_alive)
        return RequestHead(
            method, target, version, headers, expect_continue, content_length, chunked
        )

    def _fail(self, status: int, reason: str) -> ProtocolError:
        self.failed = True
        return ProtocolError(status, reason)

    # -- sending ---------------------------------------------------------------------------------

    def send_continue(self) -> bytes:
        """The interim 100 Continue, sent when the body is going to be read (RFC 9110 §10.1.1)."""
        writer = self._writer
        if writer is None or writer.started or not self._h11.they_are_waiting_for_100_continue:
            return b""
        return b"HTTP/1.1 100 Continue\r\n\r\n"

    def send_head(self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
        """Status line and headers (lower-case names), with the framing the body needs.

        A reason phrase or header with CR, LF or another control byte, or a name that is not a
        token, raises LocalProtocolError: written as it is, it could inject headers."""
        assert self._writer is not None, "a response needs a request"
        return self._writer.head(status, reason, headers)

    def send_body(self, data: bytes) -> bytes:
        """Frame a piece of the response body."""
        assert self._writer is not None
        return self._writer.body(data)

    @property
    def length_framed(self) -> bool:
        """True when the response being sent is framed by its Content-Length (RFC 9112 §6.3),
        so body bytes can go to the socket as they are (sendfile)."""
        return self._writer is not None and self._writer.length_framed

    def skip_body(self, count: int) -> None:
        """Account for `count` body bytes the caller writes to the socket itself (sendfile)."""
        assert self._writer is not None
        self._writer.skip(count)

    def send_end(self) -> bytes:
        """End the response (the last chunk when chunked)."""
        assert self._writer is not None
        return self._writer.end()

    @property
    def keep_alive(self) -> bool:
        """True when the response is complete and the connection may serve another request."""
        writer = self._writer
        return (
            writer is not None and writer.done and writer.keep_alive
            # A CONNECT or Upgrade request leaves h11 waiting to switch protocols; this server
            # never switches (its answer was not 2xx/101), so the request is simply complete.
            and self._h11.their_state in _REQUEST_COMPLETE
        )


def _header_items(headers: h11._headers.Headers) -> list[tuple[bytes, bytes]]:
    """(lower-case name, value) pairs.  Iterating h11's Headers goes through the Sequence
    protocol one item at a time; its item list is read directly when it is there."""
    full = getattr(headers, "_full_items", None)
    if full is not None:
        return [(name, value) for _, name, value in full]
    return list(headers)
