"""The sending half of HTTPConnection (h11_engine.py): a response asked for as bytes, framed by
the ResponseWriter of the current request, and what the connection does after it (kept alive,
or detached after a response that switches protocols).  A mixin, kept apart to keep each module
to one job; both engines share it."""

from __future__ import annotations

from typing import Final

import h11

from .errors import InvalidResponse
from .writer import ResponseWriter

__all__ = ["ResponseSide"]

# Client states of an incomplete request: all but DONE and MIGHT_SWITCH_PROTOCOL, which h11 does
# not export (tests/test_dependencies.py fails if h11 gains a state).
_REQUEST_INCOMPLETE: Final = frozenset({h11.IDLE, h11.SEND_BODY, h11.SEND_RESPONSE,
    h11.MUST_CLOSE, h11.CLOSED, h11.ERROR, h11.SWITCHED_PROTOCOL})


class ResponseSide:
    """Response framing and the connection's fate after it, over HTTPConnection's state."""

    _writer: ResponseWriter | None
    _h11: h11.Connection
    failed: bool

    def send_continue(self) -> bytes:
        """The interim 100 Continue, sent when the body is going to be read (RFC 9110 §10.1.1)."""
        writer = self._writer
        if writer is None or writer.started or not self._h11.they_are_waiting_for_100_continue:
            return b""
        return b"HTTP/1.1 100 Continue\r\n\r\n"

    def send_head(self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
        """Status line and headers (lower-case names), with the framing the body needs.

        A reason phrase or header with CR, LF or another control byte, or a name that is not a
        token, raises InvalidResponse: written as it is, it could inject headers."""
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
    def switching(self) -> bool:
        """True once the head sent switches protocols (a 2xx to CONNECT, RFC 9110 §9.3.6, or a
        101, §15.2.2): the connection carries no more HTTP (see detach)."""
        return self._writer is not None and self._writer.switching

    def detach(self, raw: bool = False) -> bytes:
        """After a switching response, stop parsing and return the bytes the client sent after
        its request (a TLS ClientHello after CONNECT, a frame after an Upgrade head), in order.
        `raw`: before any response, whose owner writes it whole itself (an NPH CGI script).
        InvalidResponse if the response did not switch (or, `raw`, was begun) or the request
        body is incomplete."""
        ready = (self._writer is not None and not self._writer.started) if raw else self.switching
        if not ready or self._h11.their_state in _REQUEST_INCOMPLETE:
            raise InvalidResponse("detach needs a complete request answered 2xx/101 (switching)")
        self.failed = True  # receive_data parses nothing from now on
        return self._h11.trailing_data[0]

    @property
    def keep_alive(self) -> bool:
        """True when the response is complete and the connection may serve another request."""
        writer = self._writer
        return (
            writer is not None and writer.done and writer.keep_alive
            # A CONNECT or Upgrade request leaves h11 waiting to switch protocols; this server
            # never switches (its answer was not 2xx/101), so the request is simply complete.
            and self._h11.their_state not in _REQUEST_INCOMPLETE
        )
