"""`ConnectionPool`, the HTTP/1.1 client of `plugserve.client`, and the `Response` it returns.

Connections are kept per upstream and reused (keep-alive), newest first; at most `max_idle`
idle ones are kept per upstream (nginx's `keepalive N`), each closed after `idle_timeout`.  A
connection is discarded after any error, a close-delimited body, or a response that was not read
to its end.  A request that fails on a reused connection before any byte of its response arrived
(the upstream closed it while it was idle) is retried once on a new connection, when its body
can be sent again (None or bytes).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import Final

from .._loop_cleanup import at_server_close
from .._protocol.response_parser import BodyData, ResponseError, ResponseHead
from .connection import ClientConnection
from .upstream import Upstream

__all__ = ["ConnectionPool", "Response", "UpstreamError", "UpstreamProtocolError",
           "UpstreamTimeout", "UpstreamUnreachable"]

Body = bytes | AsyncIterable[bytes] | None
_BAD_HEADER: Final = (b"\r", b"\n", b"\x00")
#: What a header value may not hold: CONTROL_RE's control bytes, and CR and LF (one regex,
#: not a scan per byte: this runs for every header of every proxied request).
_BAD_VALUE: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_NAME: Final = re.compile(rb"[\r\n\x00]")


class UpstreamError(Exception):
    """The upstream could not give a sound response; `status` is what a proxy answers."""

    status = 502


class UpstreamUnreachable(UpstreamError, OSError):
    """The connection was refused or could not be made (502)."""


class UpstreamTimeout(UpstreamError, TimeoutError):
    """The connect or response timeout passed (504)."""

    status = 504


class UpstreamProtocolError(UpstreamError):
    """The upstream broke HTTP/1.1's framing, or closed mid-response (502)."""


class Response:
    """A response head, with its body to read: `await read()` or `async for chunk in it`.

    Read the body to its end, or call `aclose()`: either returns the connection to the pool (or
    discards it).  After a 101, `take_over()` gives the raw connection instead."""

    def __init__(self, pool: ConnectionPool, upstream: Upstream, connection: ClientConnection,
                 head: ResponseHead, sender: asyncio.Task[None] | None, started: float) -> None:
        self.status = head.status
        self.reason = head.reason
        self.http_version = head.http_version
        #: Lower-case names and values, in arrival order, repeats kept.
        self.headers = head.headers
        self.content_length = head.content_length
        self.upstream = upstream
        #: Seconds from sending the request to its response head.
        self.elapsed = time.monotonic() - started
        self._pool = pool
        self._connection: ClientConnection | None = connection
        self._sender = sender
        self._ended = head.status == 101  # the end of any other is an event to come

    def header(self, name: bytes) -> bytes | None:
        """The last value of the header `name` (lower case), or None."""
        found = None
        for key, value in self.headers:
            if key == name:
                found = value
        return found

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self.read_chunk()) is not None:
            yield chunk

    async def read_chunk(self) -> bytes | None:
        """The next piece of the body, or None at its end; an UpstreamError if it cannot end."""
        connection = self._connection
        if connection is None or self._ended:
            await self._release()
            return None
        try:
            event = await connection.next_event(self._pool.timeout)
        except TimeoutError:
            await self._discard()
            raise UpstreamTimeout(f"{self.upstream}: no response data for "
                                  f"{self._pool.timeout:g} s") from None
        except (ResponseError, OSError) as exc:
            await self._discard()
            raise UpstreamProtocolError(f"{self.upstream}: {exc}") from None
        if type(event) is BodyData:
            return event.data
        self._ended = True
        await self._release()
        return None

    async def read(self) -> bytes:
        """The whole body."""
        return b"".join([chunk async for chunk in self])

    async def aclose(self) -> None:
        """Done with this response: discard the connection unless the body was read."""
        if self._ended:
            await self._release()
        else:
            await self._discard()

    async def take_over(
        self, limit: int = 64 * 1024
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """After a 101: the upstream connection as an asyncio stream pair, with the bytes that
        followed the head first."""
        connection = self._connection
        if self.status != 101 or connection is None:
            raise RuntimeError("Response.take_over: only a 101 response switches protocols")
        self._connection = None
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        transport = connection.transport
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if connection.parser.leftover:
            reader.feed_data(connection.parser.leftover)
        transport.resume_reading()
        return reader, asyncio.StreamWriter(transport, protocol, reader, loop)

    async def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        sender = self._sender
        if sender is not None and not sender.done():
            sender.cancel()  # the upstream answered before it took the whole body
            connection.abort()
            return
        self._pool._release(self.upstream, connection)

    async def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if self._sender is not None:
            self._sender.cancel()
        if connection is not None:
            connection.abort()


class ConnectionPool:
    """An async HTTP/1.1 client with keep-alive connections per upstream (module docstring).

    `connect_timeout` bounds making a connection; `timeout` each wait for the response head
    and for each piece of its body.  `max_head_bytes` and `max_header_count` bound a response
    head.  Use one pool per event loop; `aclose()` closes the idle connections."""

    def __init__(self, *, max_idle: int = 32, idle_timeout: float = 30.0,
                 connect_timeout: float = 10.0, timeout: float = 60.0,
                 max_head_bytes: int = 65536, max_header_count: int = 100) -> None:
        self.max_idle = max_idle
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.max_head_bytes = max_head_bytes
        self.max_header_count = max_header_count
        self._idle: dict[tuple[str, int, str | None],
                         list[tuple[ClientConnection, asyncio.TimerHandle]]] = {}
        #: Connections made so far (tests check reuse with it).
        self.connections_made = 0

    async def request(self, upstream: Upstream, method: bytes, target: bytes,
                      headers: Sequence[tuple[bytes, bytes]] = (), body: Body = None, *,
                      content_length: int | None = None) -> Response:
        """Send `method target` with `headers` (no framing headers: the pool frames the body
        itself, with Content-Length for bytes or a given `content_length`, else chunked) and
        return the response head.  Raises an UpstreamError subclass."""
        head = _request_head(upstream, method, target, headers, body, content_length)
        replayable = body is None or isinstance(body, bytes)
        for attempt in (0, 1):
            connection, reused = await self._connection(upstream)
            try:
                return await self._exchange(upstream, connection, method, head, body,
                                            content_length)
            except UpstreamProtocolError:
                if attempt or not reused or connection.received or not replayable:
                    raise
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        """Close every idle connection."""
        for idle in self._idle.values():
            for connection, timer in idle:
                timer.cancel()
                connection.abort()
        self._idle.clear()

    async def _connection(self, upstream: Upstream) -> tuple[ClientConnection, bool]:
        idle = self._idle.get(upstream.key)
        while idle:
            connection, timer = idle.pop()
            timer.cancel()
            if connection.usable:
                return connection, True
            connection.abort()
        loop = asyncio.get_running_loop()
        at_server_close(self.aclose)  # idle connections end with the server on this loop
        connection = ClientConnection(self.max_head_bytes, self.max_header_count)
        try:
            async with asyncio.timeout(self.connect_timeout):
                if upstream.socket_path is not None:
                    await loop.create_unix_connection(lambda: connection, upstream.socket_path)
                else:
                    await loop.create_connection(lambda: connection, upstream.host,
                                                 upstream.port)
        except TimeoutError:
            raise UpstreamTimeout(f"{upstream}: no connection within "
                                  f"{self.connect_timeout:g} s") from None
        except OSError as exc:
            raise UpstreamUnreachable(f"{upstream}: {exc.strerror or exc}") from None
        self.connections_made += 1
        return connection, False

    async def _exchange(self, upstream: Upstream, connection: ClientConnection, method: bytes,
                        head: bytes, body: Body, content_length: int | None) -> Response:
        started = time.monotonic()
        sender: asyncio.Task[None] | None = None
        try:
            connection.start(method)
            if isinstance(body, bytes) or body is None:
                connection.write(head + body if body else head)
            else:
                connection.write(head)
                sender = asyncio.ensure_future(_send_body(connection, body, content_length))
                sender.add_done_callback(lambda task: _sender_done(task, connection))
            while True:
                event = await connection.next_event(self.timeout)
                if isinstance(event, ResponseHead) and (event.status >= 200
                                                         or event.status == 101):
                    return Response(self, upstream, connection, event, sender, started)
        except BaseException as exc:
            if sender is not None:
                sender.cancel()
            connection.abort()
            if isinstance(exc, TimeoutError):
                raise UpstreamTimeout(f"{upstream}: no response within "
                                      f"{self.timeout:g} s") from None
            if isinstance(exc, (ResponseError, OSError)):
                raise UpstreamProtocolError(f"{upstream}: {exc}") from None
            raise

    def _release(self, upstream: Upstream, connection: ClientConnection) -> None:
        if not connection.usable:
            connection.abort()
            return
        idle = self._idle.setdefault(upstream.key, [])
        if len(idle) >= self.max_idle:
            connection.abort()
            return
        loop = asyncio.get_running_loop()
        timer = loop.call_later(self.idle_timeout, self._expire, upstream.key, connection)
        idle.append((connection, timer))

    def _expire(self, key: tuple[str, int, str | None], connection: ClientConnection) -> None:
        idle = self._idle.get(key, [])
        self._idle[key] = [(c, t) for c, t in idle if c is not connection]
        connection.abort()


def _request_head(upstream: Upstream, method: bytes, target: bytes,
                  headers: Sequence[tuple[bytes, bytes]], body: Body,
                  content_length: int | None) -> bytes:
    lines = [method, b" ", target, b" HTTP/1.1\r\n"]
    has_host = False
    for name, value in headers:
        lower = name.lower()
        if lower in (b"content-length", b"transfer-encoding"):
            continue  # the pool frames the body itself
        if lower == b"host":
            has_host = True
        if _BAD_VALUE.search(value) or _BAD_NAME.search(name):
            raise ValueError(f"header {name!r}: CR, LF or a control byte")
        lines += (name, b": ", value, b"\r\n")
    if not has_host:
        lines += (b"host: ", upstream.authority.encode("idna"), b"\r\n")
    if isinstance(body, bytes):
        if body or method in (b"POST", b"PUT", b"PATCH"):
            lines += (b"content-length: ", str(len(body)).encode(), b"\r\n")
    elif body is not None:
        if content_length is not None:
            lines += (b"content-length: ", str(content_length).encode(), b"\r\n")
        else:
            lines.append(b"transfer-encoding: chunked\r\n")
    lines.append(b"\r\n")
    if any(b in method or b in target for b in (b" ", *_BAD_HEADER)):
        raise ValueError("method or target with a space, CR, LF or NUL")
    return b"".join(lines)


def _sender_done(task: asyncio.Task[None], connection: ClientConnection) -> None:
    """A request body that failed (its client left) leaves the upstream half a request: drop
    the connection."""
    if not task.cancelled() and task.exception() is not None:
        connection.abort()


async def _send_body(connection: ClientConnection, body: AsyncIterable[bytes],
                     content_length: int | None) -> None:
    """Stream the request body, chunked unless its length is known, with back-pressure."""
    chunked = content_length is None
    sent = 0
    async for chunk in body:
        if not chunk:
            continue
        sent += len(chunk)
        if chunked:
            connection.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        else:
            connection.write(chunk)
        await connection.drain()
    if chunked:
        connection.write(b"0\r\n\r\n")
    elif sent != content_length:
        connection.abort()  # the upstream must not take a short body for a whole one
