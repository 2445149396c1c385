# Theory of operation
#
# FastHTTPConnection is the h11 engine (h11_engine.HTTPConnection) with llhttp, through httptools,
# in front of it.  h11 parses a head in about 30 µs of Python; llhttp in about 1 µs of C.  But the
# two parsers do not accept the same inputs: llhttp is laxer in places (two spaces in the request
# line, leading empty lines, HTTP/0.9 lines, RTSP/ICE versions, `Transfer-Encoding: gzip, chunked`,
# a missing or doubled Host) and stricter in others (obs-fold, bare LF, duplicate equal
# Content-Length, HTTP/1.2, control bytes in values, unknown methods, chunk sizes with trailing
# spaces), and a second opinion on each of those rows is a smuggling bug waiting to happen.  So
# llhttp only gets the easy, common case, and h11 remains the judge of everything else:
#
# - A head is handed to llhttp only when it is complete (the head limits are counted first, by
#   the same code as the h11 engine, so they hold however the bytes were segmented), alone, and
#   starts with a request line our own regex accepts (h11's grammar, CRLF-ended).
# - A head llhttp accepts, with no Transfer-Encoding (chunked bodies are h11's), no upgrade and
#   at most one Content-Length of at most 20 digits, is the fast path: the fields llhttp reports
#   go through the same checks as h11's (HTTPConnection._accept), after the two that h11 makes
#   and llhttp does not (Host missing on HTTP/1.1, Host twice).  Its body is counted here.
# - Anything else -- a head llhttp refuses, a Transfer-Encoding, CONNECT or Upgrade, an end of
#   file in the middle of a head, a first byte h11 calls obviously invalid -- goes, bytes and
#   all, to the h11 path this class inherits, for this request only: the verdict, and so the
#   status code, is h11's by construction.  After that request the connection comes back here.
# - What is left to llhttp alone is the syntax of header lines, where llhttp 9 is stricter than
#   h11.  The module checks that at import (_check_llhttp) and does not load on a laxer build.
#   tests/test_engines.py feeds both engines the same bytes, cut in several ways, and requires
#   the same events.
#
# llhttp parses ahead if it is fed ahead, so it never is: pipelined bytes wait (as h11 makes them
# wait) until start_next_cycle, and llhttp is fed one head at a time.  A parser is reused while the
# previous message left it clean (no body, no error), and replaced otherwise.
from __future__ import annotations

import re
from typing import Final

import httptools

from .common import (
    BODY_END,
    CLIENT_CLOSED,
    CONTROL_RE,
    BodyChunk,
    Event,
    Limits,
    ProtocolError,
    expects_continue,
)
from .errors import InvalidResponse
from .h11_engine import HTTPConnection

__all__ = ["FastHTTPConnection"]

_HEAD: Final = 0  # receiving a request head (partial bytes are in _scan)
_BODY: Final = 1  # receiving a body framed by Content-Length (_remaining bytes to go)
_DONE: Final = 2  # the request is complete; later bytes wait in _pending for start_next_cycle
_H11: Final = 3  # the inherited h11 path has this request

# h11's request-line grammar (method token, visible-ASCII target, HTTP/d.d), ended by CRLF and
# anchored at the first byte: no leading empty line, one space each side of the target.
_REQUEST_LINE: Final = re.compile(
    rb"([-!#$%&'*+.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/([0-9]\.[0-9])\r\n"
)
_PARSER_ERRORS: Final = (httptools.HttpParserError, httptools.HttpParserUpgrade)

# Header lines h11 refuses and the fast path relies on llhttp to refuse too (the request line,
# Content-Length and Transfer-Encoding it checks itself).  llhttp 9 refuses them all; an older
# or lenient build that does not is not used (ImportError: `auto` then picks h11).
_MUST_REFUSE: Final = {
    "obs-fold": b"X: a\r\n b",
    "a folded first header line": b" X: a",
    "a bare CR in a value": b"X: a\rb",
    "a CR before the CRLF": b"X: a\r",
    "a space before the colon": b"X : a",
    "a name that is not a token": b"X(y): a",
    "an empty name": b": a",
    "a line without a colon": b"no colon",
    "NUL in a value": b"X: a\x00b",
    "VT in a value": b"X: a\x0bb",
    "FF in a value": b"X: a\x0cb",
}


def _check_llhttp() -> None:
    """Refuse to load on an llhttp laxer than the fast path assumes (see _MUST_REFUSE)."""
    for what, line in _MUST_REFUSE.items():
        parser = httptools.HttpRequestParser(object())
        try:
            parser.feed_data(b"GET / HTTP/1.1\r\nHost: a\r\n" + line + b"\r\n\r\n")
        except httptools.HttpParserError:
            continue
        raise ImportError(
            f"httptools {httptools.__version__} accepts {what} in a request head, which h11 "
            "refuses: plugserve's httptools engine needs a newer httptools"
        )


_check_llhttp()


class FastHTTPConnection(HTTPConnection):
    """An HTTPConnection whose common requests are parsed by llhttp (see the module comment)."""

    _H11_AT_START = False  # an h11 connection is made (in _to_h11) for the requests that need it

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self._mode = _HEAD
        self._parser: httptools.HttpRequestParser | None = None
        #: Lower-case name -> values of the head being parsed (the request's own dict, which
        #: a new head replaces), and how many fields it had: filled by on_header.
        self._headers: dict[bytes, list[bytes]] = {}
        self._fields = 0
        self._head_complete = False
        self._remaining = 0
        self._received = 0
        self._waiting_for_continue = False
        self._pending = b""
        self._eof = False

    # -- llhttp callbacks ------------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        """One header field (httptools joins the pieces); llhttp strips leading whitespace."""
        name = name.lower()
        values = self._headers.get(name)
        if values is None:
            self._headers[name] = [value]
        else:
            values.append(value)
        self._fields += 1

    def on_headers_complete(self) -> None:
        """The blank line after the header fields."""
        self._head_complete = True

    # -- receiving -------------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the client (b"" at end of file); return the events they complete."""
        if self.failed:
            return []
        mode = self._mode
        if mode == _HEAD:
            if data and not self._scan and (
                self._held_cr or data[0] == 0x0D or data[0] == 0x0A
            ):
                skipped = self._skip_empty_lines(data)
                if type(skipped) is list:
                    return skipped
                data = skipped  # type: ignore[assignment]
            # The common case: one whole head, alone, shorter than every head limit.  (An
            # earlier bare-LF blank line would be h11's head end; llhttp refuses bare LF.)
            size = len(data)
            if (
                size
                and size <= self._fast_head_bytes
                and not self._scan
                and data.find(b"\r\n\r\n") == size - 4
            ):
                return self._head(data, size)
            if not data:
                self._held_cr = False
                if self._scan:  # the client gave up half-way through a head: h11's verdict
                    partial = bytes(self._scan)
                    return self._to_h11(partial) + super().receive_data(b"")
                return [CLIENT_CLOSED]
            scan = self._scan
            error = self._check_head(data)
            if error is not None:
                return [error]
            if self._scan is not scan:  # _check_head saw the head complete
                return self._head(bytes(scan), self._head_length)
            if scan[0] < 0x21:  # h11 refuses such a head at once, before it is complete
                return self._to_h11(bytes(scan))
            return []
        if mode == _BODY:
            return self._body(data)
        if mode == _DONE:
            if data:
                self._pending += data
            else:
                self._eof = True
            return []
        return super().receive_data(data)

    def start_next_cycle(self) -> list[Event]:
        """Reset for the next request on a kept-alive connection; return any pipelined events."""
        if self._mode == _H11:
            pending, eof = self._h11.trailing_data
        else:
            pending, eof = self._pending, self._eof
            self._pending = b""
            self._eof = False
        self._mode = _HEAD
        self._reset()
        events = self.receive_data(pending) if pending else []
        if eof and not self.failed:
            events += self.receive_data(b"")
        return events

    @property
    def unread(self) -> bool:
        """True when bytes arrived that no request consumed (see HTTPConnection.unread)."""
        if self._mode == _H11:
            return super().unread
        return bool(self._pending)

    def _head(self, data: bytes, length: int) -> list[Event]:
        """Parse the complete head data[:length] with llhttp, or hand data to h11."""
        head = data if length == len(data) else data[:length]
        parser = self._parser
        if parser is None:
            parser = self._parser = httptools.HttpRequestParser(self)
        headers: dict[bytes, list[bytes]] = {}
        self._headers = headers
        self._fields = 0
        self._head_complete = False
        try:
            parser.feed_data(head)
        except _PARSER_ERRORS:
            return self._to_h11(data)
        line = _REQUEST_LINE.match(head)
        if line is None or not self._head_complete:
            return self._to_h11(data)
        # llhttp keeps trailing whitespace in values.  (find, not `in`: see _writer.head.)
        if head.find(b" \r\n") >= 0 or head.find(b"\t\r\n") >= 0:
            for values in headers.values():
                values[:] = [value.rstrip(b" \t") for value in values]
        if b"transfer-encoding" in headers:
            return self._to_h11(data)
        lengths = headers.get(b"content-length")
        if lengths is not None and (
            len(lengths) > 1 or len(lengths[0]) > 20 or not lengths[0].isdigit()
        ):  # h11 collapses equal duplicates and refuses more than 20 digits; llhttp neither
            return self._to_h11(data)
        method, target, version = line.groups()
        # h11 refuses these before the server sees the request; llhttp does not.
        hosts = headers.get(b"host")
        if hosts is None:
            if version == b"1.1":
                return [self._fail(400, "Missing mandatory Host: header")]
        elif len(hosts) > 1:
            return [self._fail(400, "Found multiple Host: headers")]
        waiting = b"expect" in headers and expects_continue(version, headers)
        # The request line matched _REQUEST_LINE and llhttp took the names: a control byte
        # in the head can only be in a value.
        control = CONTROL_RE.search(head) is not None
        head_event = self._accept(
            method, target, version, headers, self._fields, waiting, control
        )
        if isinstance(head_event, ProtocolError):
            return [head_event]
        body_length = head_event.content_length
        rest = data[len(head):] if len(head) < len(data) else b""
        if not body_length:
            self._mode = _DONE
            self._pending = rest
            return [head_event, BODY_END]
        self._parser = None  # llhttp now waits for a body it will not get: a new parser next time
        self._mode = _BODY
        self._remaining = body_length
        self._received = 0
        self._waiting_for_continue = waiting
        return [head_event, *self._body(rest)] if rest else [head_event]

    def _body(self, data: bytes) -> list[Event]:
        """Bytes of a body framed by Content-Length; the excess waits for the next cycle."""
        remaining = self._remaining
        if not data:
            received = self._received
            return [self._fail(
                400,
                "peer closed connection without sending complete message body "
                f"(received {received} bytes, expected {received + remaining})",
            )]
        self._waiting_for_continue = False
        size = len(data)
        if size < remaining:
            self._remaining = remaining - size
            self._received += size
            return [BodyChunk(data)]
        self._mode = _DONE
        if size > remaining:
            self._pending = data[remaining:]
            data = data[:remaining]
        return [BodyChunk(data), BODY_END]

    def _to_h11(self, data: bytes) -> list[Event]:
        """Let the inherited h11 path have this request, from the first byte of its head."""
        self._mode = _H11
        self._parser = None
        self._scan = bytearray()
        self._line_seen = False
        self._h11 = self._new_h11()
        return super().receive_data(data)

    def detach(self, raw: bool = False) -> bytes:
        """See HTTPConnection.detach; off the h11 path the bytes wait in _pending."""
        if self._mode == _H11:
            return super().detach(raw)
        ready = (self._writer is not None and not self._writer.started) if raw else self.switching
        if not ready or self._mode != _DONE:
            raise InvalidResponse("detach needs a complete request answered 2xx/101 (switching)")
        self.failed = True
        pending, self._pending = self._pending, b""
        return pending

    # -- sending ---------------------------------------------------------------------------------

    def send_continue(self) -> bytes:
        """The interim 100 Continue, sent when the body is going to be read (RFC 9110 §10.1.1)."""
        if self._mode == _H11:
            return super().send_continue()
        writer = self._writer
        if writer is None or writer.started or not self._waiting_for_continue:
            return b""
        return b"HTTP/1.1 100 Continue\r\n\r\n"

    @property
    def keep_alive(self) -> bool:
        """True when the response is complete and the connection may serve another request."""
        mode = self._mode
        if mode == _H11:
            return super().keep_alive
        writer = self._writer
        return writer is not None and writer.done and writer.keep_alive and mode == _DONE
