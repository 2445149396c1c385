"""Taking over a connection: after a 2xx answer to CONNECT, or a 101 to an Upgrade request, the
resource owns the raw bytes in both directions (part of `Request`, kept apart to keep each
module small; the transport side is `_transport/tunnel.py`).

`take_over()` gives an asyncio `(StreamReader, StreamWriter)` pair; `take_over_transport()` the
lower-level form, the transport and the bytes the client sent after the request head (pipelined
in the same packet: a TLS ClientHello right after CONNECT, a WebSocket frame after the Upgrade
head), which the new owner must handle first.  Either way the head goes out with no body framing
(RFC 9110 §9.3.6, §15.2.2), the request is finished (its access-log line is written, its
`notifyFinish` fires), and the connection leaves the request timers for the tunnel's idle
timeout (`--tunnel-idle-timeout`), while it still counts towards `--max-connections` and
graceful shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from .error import ConnectionLost

if TYPE_CHECKING:
    from ._request import Channel, Request
    from .http_headers import Headers

__all__ = ["ProtocolSwitching"]


class ProtocolSwitching:
    """The takeover methods of a Request (see the module docstring)."""

    channel: Channel
    method: bytes
    clientproto: bytes
    code: int
    finished: bool
    startedWriting: bool
    requestHeaders: Headers
    responseHeaders: Headers
    _disconnected: bool

    if TYPE_CHECKING:  # ResponseWriting's

        def _send_head(self, body: bytes | None) -> None: ...
        def _notify(self, error: BaseException | None) -> None: ...

    async def take_over(
        self, limit: int = 64 * 1024, *, raw: bool = False
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Send the head of the response set so far (a 2xx to CONNECT, or a 101 with an Upgrade
        header) and return the connection as an asyncio stream pair, as
        `asyncio.open_connection` would.  The reader holds the bytes the client sent after the
        request head first, then everything that follows; `limit` is the reader's buffer limit
        (past twice that, reading from the client pauses until the owner reads).

        Close the writer when done; the client closing gives the reader its end of file.
        `raw=True` sends no head at all (see take_over_transport).  Raises RuntimeError when
        the response cannot switch (see take_over_transport), and ConnectionLost when the
        client has gone away."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        transport, buffered = self.take_over_transport(lambda: protocol, raw=raw)
        if buffered:
            reader.feed_data(buffered)
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        try:
            await writer.drain()  # the head is on its way, or the client is gone
        except ConnectionError as exc:
            raise ConnectionLost(str(exc) or "Connection to the other side was lost.") from None
        return reader, writer

    def take_over_transport(
        self, protocol_factory: Callable[[], asyncio.Protocol], *, raw: bool = False
    ) -> tuple[asyncio.Transport, bytes]:
        """Send the head of the response set so far (a 2xx to CONNECT, or a 101 with an Upgrade
        header), hand the connection to `protocol_factory()`, and return its transport and the
        bytes the client sent after the request head.

        The protocol's `connection_made(transport)` has been called when this returns; every
        later byte goes to its `data_received`, so handle the returned bytes before the next
        `await` (they came first).  The transport is the connection's own, wrapped so that
        writes keep the tunnel's idle timeout at bay: close it when done.

        `raw=True` sends nothing: the new owner writes the whole response itself, status line
        and framing included (an NPH CGI script does), whatever the method and status, and the
        connection ends when the owner closes the transport.  `code` should still be set to
        the status the owner sends, for the access log.

        Raises RuntimeError when the response cannot switch: the head was sent already, the
        status is not a 2xx to CONNECT or a 101 to an HTTP/1.1 request with Upgrade (unless
        `raw`), a 101 has no Upgrade header, or the request body is still arriving (read it
        all first).  Raises ConnectionLost when the client has gone away."""
        if raw:
            self._check_unsent()
        else:
            self._check_switch()
            self._send_head(b"")
        transport, buffered = self.channel.take_over(cast("Request", self), protocol_factory,
                                                   raw)
        self.finished = True
        self._notify(None)
        return transport, buffered

    def _check_unsent(self) -> None:
        """Raise unless the client is there and nothing of the response was sent."""
        if self._disconnected:
            raise ConnectionLost("Connection to the other side was lost.")
        if self.finished or self.startedWriting:
            raise RuntimeError(
                "Request.take_over: the response head was sent already; call take_over "
                "instead of write/finish, after setResponseCode"
            )

    def _check_switch(self) -> None:
        """Raise unless this response may switch protocols now (see take_over_transport)."""
        self._check_unsent()
        code, method = self.code, self.method.decode("latin-1")
        if method == "CONNECT":
            if not 200 <= code < 300:
                raise RuntimeError(
                    f"Request.take_over: a CONNECT is taken over with a 2xx response, not "
                    f"{code}; call request.setResponseCode(200) first"
                )
            return
        if code != 101:
            raise RuntimeError(
                f"Request.take_over: {method} {code} does not switch protocols; answer CONNECT "
                "with a 2xx, or an Upgrade request with setResponseCode(101)"
            )
        if not self.requestHeaders.hasHeader(b"upgrade") or self.clientproto == b"HTTP/1.0":
            raise RuntimeError(
                "Request.take_over: 101 answers only an HTTP/1.1 request with an Upgrade header "
                "(RFC 9110 §7.8); this request has none"
            )
        if not self.responseHeaders.hasHeader(b"upgrade"):
            raise RuntimeError(
                "Request.take_over: a 101 response names the protocol it switches to; set "
                "request.setHeader(b'upgrade', b'<protocol>') first (RFC 9110 §7.8)"
            )
