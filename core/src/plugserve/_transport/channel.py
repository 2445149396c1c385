# Theory of operation
#
# HTTPChannel is the asyncio side of one connection: it moves bytes between the transport and the
# sans-I/O HTTPConnection, turns the connection's events into a Request, hands a complete request to
# the Site, and writes what the Request produces.  Timers are not per-connection handles: each
# channel keeps a deadline (a float) that the listener's sweeper compares with the clock a few
# times a second, so a request pays one float store per phase change instead of a timer handle.
# The phases: HEAD (receiving a request head: header timeout, 408), BODY (receiving its body: body
# timeout and minimum rate, 408), BUSY (the site is answering: no timeout, as in Twisted), IDLE
# (kept alive between requests: keep-alive timeout, silent close), LINGER (after an answer that
# ends a connection the client is still sending on: what it sends is read and dropped, within a
# byte and a time bound, so that it reads the answer instead of a reset; nginx's lingering_close).
# Apart from the phase deadline, a SendWatch (sending.py) closes a connection whose client stops
# reading for the send timeout, in any phase.  Pipelined requests wait in h11's buffer until the
# response before them is finished (RFC 9112 §9.3.2); while a response is pending the channel stops
# reading once the buffered bytes pass the head limit, so a client cannot make it buffer
# without end.  After a 2xx to CONNECT or a 101, the resource may take the connection over
# (take_over): the channel lets go of it, and a Tunnel (tunnel.py) takes its place.
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from .._protocol.engines import make_connection
from .._protocol.errors import InvalidResponse
from .._protocol.h11_engine import (
    BodyChunk,
    BodyEnd,
    ClientClosed,
    Event,
    ProtocolError,
    RequestHead,
)
from ..address import Address, from_sockname
from ..error import ConnectionDone, ConnectionLost
from .body import BodyStream
from .flow import FlowControl
from .intake import BODY, BUSY, BodyIntake
from .output import ResponseOutput, simple_response
from .sending import SendWatch
from .tunnel import start_tunnel

if TYPE_CHECKING:
    from .._request import Request
    from .listener import ServerState

__all__ = ["FlowControl", "HTTPChannel", "simple_response"]

_log = logging.getLogger("plugserve")

HEAD: Final = 0  # BODY and BUSY are _intake's
IDLE: Final = 3
LINGER: Final = 4


def _release_body(request: Request) -> None:
    """Close the request's body file once the request is over, as Twisted's Request does: a
    chunked or large body is a spooled temporary file, which must not wait for the GC (its
    file descriptor, and the ResourceWarning its __del__ raises)."""
    content = getattr(request, "content", None)
    if content is not None:
        content.close()


class HTTPChannel(BodyIntake, ResponseOutput, asyncio.Protocol):
    """One client connection: bytes to requests, responses to bytes (its request side is
    _intake.BodyIntake, its response side _output.ResponseOutput)."""

    transport: asyncio.Transport
    peer: Address
    sockname: Address

    #: The class of this connection's requests; None: the Site's `requestFactory`.  The public
    #: `plugserve.http.HTTPChannel` sets Twisted's default, for channels a factory builds.
    requestFactory: Any = None

    def __init__(self, state: ServerState | None = None) -> None:
        # A channel the listener makes for a Site gets its state at once; one that an
        # HTTPFactory's buildProtocol makes (Twisted style, without arguments) gets it from
        # `attach` before asyncio hands it the connection.
        if state is not None:
            self.attach(state)
        self.request: Request | None = None
        self.is_tls = False
        self.phase = HEAD
        self.deadline = 0.0
        self._ended = False
        self._closed = False
        self._pending: deque[Event] = deque()
        self._processing = False
        self._buffered_while_busy = 0
        # The head of a streamed response waits here for its first body bytes (one write, one
        # segment), at most until the end of the loop iteration.
        self._head_pending = b""
        self._producer: Any = None
        self._producer_streaming = True
        # The body of the current request goes to the BodyStream its resource reads while it
        # arrives, else to request.content (read once complete by `_resource`, the resource
        # traversal found), else nowhere: with no request, its response is already finished,
        # so the rest of the body is read and dropped.
        self._stream: BodyStream | None = None
        self._resource: Any = None
        #: While a body is received: the deadline its minimum rate sets (0: none).
        self._rate_deadline = 0.0
        #: After an early answer: bytes still to drop before closing, and until when.
        self._linger_left = 0
        self._linger_until = 0.0

    def attach(self, state: ServerState) -> HTTPChannel:
        """Join the run `state` describes: its limits, its timers and its Site (or, for a
        channel of a plain HTTPFactory, the routing that hands requests to `process()`)."""
        self.state = state
        self.site = state.site
        if self.requestFactory is None:
            self.requestFactory = state.site.requestFactory
        self.http = make_connection(state.config, state.limits)
        return self

    # -- asyncio callbacks -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.flow = FlowControl(transport)
        self.send_watch = SendWatch(self.transport, self.state.config.send_timeout_s)
        state = self.state
        if state.closing or len(state.connections) >= state.config.max_connections:
            _log.warning("refusing a connection: %d open (--max-connections)",
                         len(state.connections))
            self.transport.write(simple_response(503, "too many connections", state.error_headers))
            self.transport.close()
            self._closed = True
            return
        state.connections.add(self)
        self.peer = from_sockname(transport.get_extra_info("peername"))
        self.sockname = from_sockname(transport.get_extra_info("sockname"))
        self.is_tls = transport.get_extra_info("sslcontext") is not None
        self.deadline = state.loop.time() + state.config.header_timeout_s

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        phase = self.phase
        if phase == IDLE:
            self.phase = HEAD
            self.deadline = self.state.loop.time() + self.state.config.header_timeout_s
        elif phase == BUSY:
            self._buffered_while_busy += len(data)
            if self._buffered_while_busy > self.http.limits.max_header_bytes:
                self.flow.pause_reading()
        elif phase == LINGER or (phase == BODY and self.request is None):
            self._linger_left -= len(data)  # after an early answer: dropped, within bounds
            if self._linger_left < 0:
                self._linger()
                return
            if phase == LINGER:
                return
        self._handle(self.http.receive_data(data))

    def eof_received(self) -> bool:
        if self.phase == LINGER:
            self._close()
            return False
        if self.request is not None and self.phase == BUSY:
            # The client closed while its response is pending: it has gone away, as Twisted and
            # nginx (499) take it, so notifyFinish fails and the resource can stop working.
            self._close()
            return False
        self._handle(self.http.receive_data(b""))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self.state.connections.discard(self)
        self.flow.resume_writing()
        if self._stream is not None:
            self._stream.fail("the client went away before the request body was complete")
        request = self.request
        if request is not None and not request.finished:
            self.request = None
            reason = (ConnectionLost(str(exc)) if exc
                      else ConnectionDone("Connection was closed cleanly."))
            request.connectionLost(reason)
            if self.state.request_finished is not None:
                self.state.request_finished(request)
            _release_body(request)
        producer = self._producer
        if producer is not None:
            self._producer = None
            stop = getattr(producer, "stopProducing", None)
            if stop is not None:
                stop()

    def pause_writing(self) -> None:
        self.flow.pause_writing()
        self.send_watch.arm(self.state.loop.time())
        if self._producer is not None and self._producer_streaming:
            self._producer.pauseProducing()

    def resume_writing(self) -> None:
        self.flow.resume_writing()
        if self.send_watch.sendfile is None:
            self.send_watch.disarm()
        producer = self._producer
        if producer is not None:
            if self._producer_streaming:
                producer.resumeProducing()
            else:
                self.state.loop.call_soon(self._pull)

    # -- events ----------------------------------------------------------------------------------

    def _handle(self, events: list[Event]) -> None:
        if not events:
            return
        pending = self._pending
        pending.extend(events)
        if self._processing:
            return  # the outer call drains the queue (pipelined requests, no recursion)
        self._processing = True
        try:
            while pending and not self._closed:
                event = pending.popleft()
                kind = type(event)
                if kind is BodyChunk:
                    self._on_body_chunk(event.data)  # type: ignore[union-attr]
                elif kind is RequestHead:
                    self._on_head(event)  # type: ignore[arg-type]
                elif kind is BodyEnd:
                    self._on_body_end()
                elif kind is ProtocolError:
                    self._protocol_error(event.status, event.reason)  # type: ignore[union-attr]
                elif kind is ClientClosed:
                    self._close()
        finally:
            self._processing = False
            if self._closed:
                pending.clear()

    def _protocol_error(self, status: int, reason: str) -> None:
        peer = getattr(self, "peer", None)
        _log.info("%d for %s: %s", status, getattr(peer, "host", peer), reason)
        request = self.request
        if self._stream is not None:
            self._stream.fail(f"{status} {reason}")
        answered = self.phase == BODY and request is None  # an early answer, its body dropped
        if not answered and (request is None or not request.startedWriting):
            self.transport.write(simple_response(status, reason, self.state.error_headers))
        if request is not None and not request.finished:
            # Answered by the server (or cut off): the resource can no longer respond, so it
            # learns it as from a client gone away (its render coroutine is cancelled).
            request.connectionLost(ConnectionLost(f"{status} {reason}"))
        if status == 408:  # the client has stopped sending: nothing to linger for
            self._close()
        else:
            self._linger()

    def timed_out(self) -> None:
        """Called by the sweeper when this channel's deadline passed."""
        phase = self.phase
        if phase == BODY and self.request is None:
            self._close()  # an early answer's unread body did not end in time
        elif phase == BODY and self._rate_deadline and self.deadline == self._rate_deadline:
            rate = self.state.config.min_body_rate_bytes_s
            self._protocol_error(408, f"request body slower than {rate:g} bytes/s")
        elif phase == BODY or (phase == HEAD and self.http.has_partial_head):
            self._protocol_error(408, "timed out waiting for the request")
        else:
            self._close()

    def send_timed_out(self) -> None:
        """Called by the sweeper when the client read nothing for the send timeout: drop the
        connection, which stops whatever produces the response (see connection_lost)."""
        peer = getattr(self, "peer", None)
        _log.info("closing the connection of %s: it read nothing for %g s (--send-timeout)",
                  getattr(peer, "host", peer), self.state.config.send_timeout_s)
        self.send_watch.cancel_sendfile()
        self._closed = True
        self.transport.abort()

    def _linger(self) -> None:
        """Close after an answer the client may still be sending to: send our FIN, read and
        drop what comes (at most --max-linger bytes, for --linger-timeout seconds), then close
        (see the module comment)."""
        if self._closed:
            return
        now = self.state.loop.time()
        if self.phase != BODY or self.request is not None:  # not already draining a body
            self._linger_left = self.state.config.max_linger_bytes
            self._linger_until = now + self.state.config.linger_timeout_s
        self.phase = LINGER
        self.deadline = self._linger_until
        if self._linger_left < 0:
            self.flow.pause_reading()  # enough dropped: the client gets our answer, then a close
        else:
            self.flow.resume_reading()
        transport = self.transport
        if transport.can_write_eof():
            transport.write_eof()
        if transport.get_write_buffer_size():
            self.send_watch.arm(now)

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self.transport.close()
            if self.transport.get_write_buffer_size():  # closes once flushed: while it reads
                self.send_watch.arm(self.state.loop.time())

    def close_when_idle(self) -> None:
        """Graceful shutdown: close now if no request is in flight, else after its response."""
        if self.request is None and not self.http.has_partial_head:
            self._close()

    def take_over(
        self, request: Request, protocol_factory: Callable[[], asyncio.Protocol],
        raw: bool = False,
    ) -> tuple[asyncio.Transport, bytes]:
        """Hand the connection to `protocol_factory()` after the switching head `request`
        sent (a 2xx to CONNECT, a 101), or before any head (`raw`): the request ends here, a
        Tunnel takes this channel's place (tunnel.py), and the bytes the client sent after the
        request are returned."""
        if self._closed or request is not self.request:
            raise ConnectionLost("Connection to the other side was lost.")
        if self.phase != BUSY:  # the body is still arriving: it would mix with the new bytes
            raise RuntimeError("Request.take_over: read the whole request body first")
        buffered = self.http.detach(raw)
        self.request = None
        self._ended = self._closed = True  # this channel is done; the Tunnel has the transport
        state = self.state
        if state.request_finished is not None:
            state.request_finished(request)
        _release_body(request)
        transport, _ = start_tunnel(
            state, self.transport, self.send_watch, self.peer,
            write_paused=self.flow.write_paused, replaces=self,
            protocol_factory=protocol_factory,
        )
        return transport, buffered

    # -- the end of a response ---------------------------------------------------------------------

    def end_response(self, request: Request) -> None:
        """The response is complete: log it, then serve the next request or close."""
        if request is not self.request:
            return
        self.request = None
        state = self.state
        if not self._closed and not self._ended:
            try:
                self.transport.write(self._head_pending + self.http.send_end())
                self._head_pending = b""
            except InvalidResponse as exc:
                self._broken_response(exc, request)
        self._ended = True
        if self._producer is not None:
            self._producer = None
        if state.request_finished is not None:
            state.request_finished(request)
        _release_body(request)
        if self._closed:
            return
        if self.phase == BODY:
            # Answered before the request body was complete (an error page, or a streaming
            # resource that did not read it all): read the rest and drop it, then go on; but
            # at most --max-linger bytes for --linger-timeout seconds, else close (an endless
            # chunked body to a missing resource is cut off).
            self._stream = self._resource = None
            self._linger_left = state.config.max_linger_bytes
            self._linger_until = state.loop.time() + state.config.linger_timeout_s
            self.flow.resume_reading()
            self._body_deadline(state.loop.time())
            return
        self._next_cycle()

    def _next_cycle(self) -> None:
        """Close, or wait for the next request, once a response and its request are over."""
        state = self.state
        if not self.http.keep_alive or state.closing:
            if self.http.unread:  # bytes the client sent after its last request: linger
                self._linger()
            else:
                self._close()
            return
        self.phase = IDLE
        self.deadline = state.loop.time() + state.config.keepalive_timeout_s
        self.flow.resume_reading()
        self._handle(self.http.start_next_cycle())
