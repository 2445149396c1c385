"""The response side of a connection: the Channel interface a Request writes through.

`ResponseOutput` is a part of HTTPChannel (channel.py), kept apart because it has one job:
turning what a Request produces (a head, body pieces, a file, producers) into writes on the
transport, through the sans-I/O connection's framing, with the send timeout's byte count
(sending.py) and flow control.  `simple_response` frames the protocol-error answers, which go
out before any Request exists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from .. import _date
from .._protocol.errors import InvalidResponse
from .._status import reason_phrase
from ..error import ConnectionLost
from .sending import SendWatch, send_pieces

if TYPE_CHECKING:
    from .._protocol.h11_engine import HTTPConnection
    from .._request import Request
    from .flow import FlowControl
    from .listener import ServerState

__all__ = ["ResponseOutput", "simple_response"]

_log = logging.getLogger("plugserve")


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



class ResponseOutput:
    """The writing half of HTTPChannel (see the module docstring)."""

    transport: asyncio.Transport
    state: ServerState
    http: HTTPConnection
    flow: FlowControl
    send_watch: SendWatch
    request: Request | None
    is_tls: bool
    _closed: bool
    _ended: bool
    _head_pending: bytes
    _producer: Any
    _producer_streaming: bool

    if TYPE_CHECKING:  # HTTPChannel's

        def _close(self) -> None: ...

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
        except InvalidResponse as exc:
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
            except InvalidResponse as exc:
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
            sent = await send_pieces(self.send_watch, self.transport, file, offset, count)
        except (OSError, RuntimeError) as exc:
            self.abort()
            raise ConnectionLost(str(exc) or "sendfile failed") from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this task itself is being cancelled
            # The piece was cancelled by the send timeout or by abort(): the client is gone.
            raise ConnectionLost("Connection to the other side was lost.") from None
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

    def _broken_response(self, exc: InvalidResponse, request: Request | None = None) -> None:
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
            self.send_watch.cancel_sendfile()  # first: asyncio's sendfile must not see it
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
