# Theory of operation
#
# HTTPChannel is the asyncio side of one connection: it moves bytes between the transport and the
# sans-I/O HTTPConnection, turns the connection's events into a Request, hands a complete request to
# the Site, and writes what the Request produces.  Timers are not per-connection handles: each
# channel keeps a deadline (a float) that the listener's sweeper compares with the clock a few
# times a second, so a request pays one float store per phase change instead of a timer handle.
# The phases: HEAD (receiving a request head: header timeout, 408), BODY (receiving its body: body
# timeout, 408), BUSY (the site is answering: no timeout, as in Twisted), IDLE (kept alive between
# requests: keep-alive timeout, silent close).  Pipelined requests wait in h11's buffer until the
# response before them is finished (RFC 9112 §9.3.2); while a response is pending the channel stops
# reading once the buffered bytes pass the head limit, so a client cannot make it buffer
# without end.
from __future__ import annotations

import asyncio
import io
import logging
from collections import deque
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, Final

import h11

from . import _date
from ._body import BodyStream, new_body
from ._engines import make_connection
from ._flow import FlowControl
from ._http import (
    BodyChunk,
    BodyEnd,
    ClientClosed,
    Event,
    ProtocolError,
    RequestHead,
)
from .address import Address, from_sockname
from .error import ConnectionDone, ConnectionLost
from .http import reason_phrase
from .http_headers import Headers

if TYPE_CHECKING:
    from ._listener import ServerState
    from ._request import Request

__all__ = ["FlowControl", "HTTPChannel", "simple_response"]

_log = logging.getLogger("plugserve")

HEAD: Final = 0
BODY: Final = 1
BUSY: Final = 2
IDLE: Final = 3


def simple_response(
    status: int, message: str, extra: Sequence[tuple[bytes, bytes]] = ()
) -> bytes:
    """A complete plain-text response that closes the connection (for protocol errors)."""
    body = f"{status} {reason_phrase(status).decode()}: {message}\n".encode("utf-8", "replace")
    lines = [
        b"HTTP/1.1 %d %s" % (status, reason_phrase(status)),
        b"Content-Type: text/plain; charset=utf-8",
        b"X-Content-Type-Options: nosniff",
        b"Content-Length: %d" % len(body),
        b"Connection: close",
        b"Date: " + _date.http_date_now(),
    ]
    lines.extend(name + b": " + value for name, value in extra)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _release_body(request: Request) -> None:
    """Close the request's body file once the request is over, as Twisted's Request does: a
    chunked or large body is a spooled temporary file, which must not wait for the GC (its
    file descriptor, and the ResourceWarning its __del__ raises)."""
    content = getattr(request, "content", None)
    if content is not None:
        content.close()


class HTTPChannel(asyncio.Protocol):
    """One client connection: bytes to requests, responses to bytes."""

    transport: asyncio.Transport
    peer: Address
    sockname: Address

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.site = state.site
        self.http = make_connection(state.config, state.limits)
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

    # -- asyncio callbacks -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.flow = FlowControl(transport)
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
        self._handle(self.http.receive_data(data))

    def eof_received(self) -> bool:
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
        if self._producer is not None and self._producer_streaming:
            self._producer.pauseProducing()

    def resume_writing(self) -> None:
        self.flow.resume_writing()
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

    def _on_head(self, head: RequestHead) -> None:
        state = self.state
        headers = Headers._wrap(head.headers)
        has_body = head.chunked or bool(head.content_length)
        content = new_body(head.content_length, head.chunked) if has_body else io.BytesIO()
        request = self.site.requestFactory(
            self, head.method, head.target, b"HTTP/" + head.http_version, headers, content
        )
        request.site = self.site
        request._child_hook = state.child_hook
        self.request = request
        self._ended = False
        if not has_body:
            self.phase = BUSY
            self.deadline = 0.0
            return
        self.phase = BODY
        self.deadline = state.loop.time() + state.config.body_timeout_s
        if head.expect_continue:
            self.transport.write(self.http.send_continue())
        # A request with a body is traversed now, so that its resource can choose to read the
        # body as it arrives; it is rendered when the body is complete otherwise.
        resource = self.site._locate(request)
        if resource is None or request.finished or self.request is not request:
            return
        if getattr(resource, "stream_request_body", False):
            stream = BodyStream(state.loop, self._stream_drained)
            content.close()
            request.content = stream  # type: ignore[assignment]
            self._stream = stream
            self.site._render(request, resource, streaming=True)
        else:
            self._resource = resource

    def _on_body_chunk(self, data: bytes) -> None:
        stream = self._stream
        if stream is not None:
            if stream.feed(data):
                self.flow.pause_reading()  # the reader is behind: no body timeout meanwhile
                self.deadline = 0.0
                return
        elif self.request is not None:
            self.request.content.write(data)
        self.deadline = self.state.loop.time() + self.state.config.body_timeout_s

    def _stream_drained(self) -> None:
        """The reader of a streamed body caught up: read from the client again."""
        if not self._closed and self.phase == BODY and self._stream is not None:
            self.flow.resume_reading()
            self.deadline = self.state.loop.time() + self.state.config.body_timeout_s

    def _on_body_end(self) -> None:
        request = self.request
        resource = self._resource
        stream = self._stream
        self._stream = self._resource = None
        self.phase = BUSY
        self.deadline = 0.0
        self._buffered_while_busy = 0
        if request is None:  # answered before its body ended: the body was read and dropped
            self._next_cycle()
        elif stream is not None:
            stream.end()
        elif resource is not None:
            if request.content.tell():
                request.content.seek(0)
            self.site._render(request, resource)
        else:
            self.site._handle(request)

    def _protocol_error(self, status: int, reason: str) -> None:
        peer = getattr(self, "peer", None)
        _log.info("%d for %s: %s", status, getattr(peer, "host", peer), reason)
        request = self.request
        if self._stream is not None:
            self._stream.fail(f"{status} {reason}")
        if request is None or not request.startedWriting:
            self.transport.write(simple_response(status, reason, self.state.error_headers))
        self._close()

    def timed_out(self) -> None:
        """Called by the sweeper when this channel's deadline passed."""
        phase = self.phase
        if phase == BODY or (phase == HEAD and self.http.has_partial_head):
            self._protocol_error(408, "timed out waiting for the request")
        else:
            self._close()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self.transport.close()

    def close_when_idle(self) -> None:
        """Graceful shutdown: close now if no request is in flight, else after its response."""
        if self.request is None and not self.http.has_partial_head:
            self._close()

    # -- the Channel interface used by Request --------------------------------------------------

    def write_head(
        self,
        request: Request,
        status: int,
        reason: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None,
    ) -> None:
        """Write the head; with a complete `body` (bytes), the body and the end too."""
        if self._closed or request is not self.request:
            return
        if self.state.closing:
            # Shutting down: this response is the connection's last, so it says so (RFC 9112
            # §9.6) and a client with more requests knows to send them elsewhere; h11 merges
            # this with a Connection header the resource set.
            headers = [*headers, (b"connection", b"close")]
        http = self.http
        try:
            data = http.send_head(status, reason, headers)
            if body is not None:
                if body:
                    data += http.send_body(body)
                data += http.send_end()
                self._ended = True
        except h11.LocalProtocolError as exc:
            _log.error("invalid response from %s: %s", request.uri.decode("latin-1"), exc)
            self.transport.write(simple_response(500, "the server produced an invalid response"))
            self._close()
            return
        if body is None:
            self._head_pending = data
            self.state.loop.call_soon(self._flush_head)
            return
        self.transport.write(data)

    def _flush_head(self) -> None:
        data = self._head_pending
        if data:
            self._head_pending = b""
            if not self._closed:
                self.transport.write(data)

    def write_body(self, data: bytes) -> None:
        """Write a piece of a streamed body."""
        if not self._closed:
            try:
                framed = self.http.send_body(data)
            except h11.LocalProtocolError as exc:
                self._broken_response(exc)
                return
            if self._head_pending:
                framed = self._head_pending + framed
                self._head_pending = b""
            self.transport.write(framed)
            if self._producer is not None and not self._producer_streaming:
                self.state.loop.call_soon(self._pull)

    async def send_file(self, request: Request, file: IO[bytes], offset: int, count: int) -> bool:
        """Send `count` bytes of `file` from `offset` with `loop.sendfile`, if this connection
        allows it: plain TCP, sendfile enabled, a body framed by Content-Length.  Returns False
        (nothing sent) otherwise, and the caller copies the bytes itself.  Raises
        ConnectionLost when the client goes away."""
        if self._closed or request is not self.request:
            raise ConnectionLost("Connection to the other side was lost.")
        if self.is_tls or not self.state.config.sendfile or not self.http.length_framed:
            return False
        try:
            file.fileno()
        except (AttributeError, OSError, ValueError):
            return False
        self.http.skip_body(count)
        self._flush_head()
        try:
            sent = await self.state.loop.sendfile(self.transport, file, offset, count)
        except (OSError, RuntimeError) as exc:
            self.abort()
            raise ConnectionLost(str(exc) or "sendfile failed") from None
        if sent != count:  # the file shrank: the declared length can no longer be met
            _log.error("%s: file shorter than its Content-Length", request.uri.decode("latin-1"))
            self.abort()
            raise ConnectionLost("file shorter than its Content-Length")
        return True

    async def wait_writable(self) -> None:
        """Wait until the client has read enough of what was written (flow control)."""
        await self.flow.drain()
        if self._closed:
            raise ConnectionLost("Connection to the other side was lost.")

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
            except h11.LocalProtocolError as exc:
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
            # resource that did not read it all): read the rest, drop it, then go on.
            self._stream = self._resource = None
            self.flow.resume_reading()
            self.deadline = state.loop.time() + state.config.body_timeout_s
            return
        self._next_cycle()

    def _next_cycle(self) -> None:
        """Close, or wait for the next request, once a response and its request are over."""
        state = self.state
        if not self.http.keep_alive or state.closing:
            self._close()
            return
        self.phase = IDLE
        self.deadline = state.loop.time() + state.config.keepalive_timeout_s
        self.flow.resume_reading()
        self._handle(self.http.start_next_cycle())

    def _broken_response(self, exc: h11.LocalProtocolError, request: Request | None = None) -> None:
        """The resource broke its own framing (more or fewer bytes than the Content-Length it
        set): the response cannot be completed, so drop the connection.  The client then sees
        a truncated response instead of waiting for bytes that never come, and the channel is
        not left in the middle of a response that no timeout covers."""
        request = request or self.request
        uri = request.uri.decode("latin-1") if request is not None else "?"
        _log.error("invalid response from %s: %s", uri, exc)
        self.abort()

    def abort(self) -> None:
        """Drop the connection at once (a response that cannot be completed)."""
        if not self._closed:
            self._flush_head()  # what was said stands: the client sees a truncated response
            self._closed = True
            self.transport.abort()

    def register_producer(self, request: Request, producer: Any, streaming: bool) -> None:
        """Drive `producer` with the transport's flow control (Twisted's producer API)."""
        if self._producer is not None:
            raise RuntimeError(f"Cannot register producer {producer!r}: one is registered already")
        self._producer = producer
        self._producer_streaming = streaming
        if streaming:
            if self.flow.write_paused:
                producer.pauseProducing()
        else:
            self.state.loop.call_soon(self._pull)

    def unregister_producer(self) -> None:
        """Forget the registered producer."""
        self._producer = None

    def _pull(self) -> None:
        producer = self._producer
        if producer is not None and not self._producer_streaming and not self.flow.write_paused:
            producer.resumeProducing()
