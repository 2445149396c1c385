"""One connection of `plugserve.client` to an upstream: an asyncio protocol that feeds the strict
response parser and queues its events, with flow control both ways.

Reading pauses while more than `window` body bytes wait unread (a slow client of the proxy holds
the upstream back instead of filling memory); writing waits in `drain()` while the transport's
buffer is over its high-water mark (a slow upstream holds the uploading client back).  A
connection that breaks framing, sends a byte while idle, or closes, is done: `usable` turns
False and the pool never lends it again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Final

from .._protocol.response_parser import BodyData, ResponseError, ResponseHead, ResponseParser

__all__ = ["ClientConnection", "Event"]

Event = ResponseHead | BodyData | None
_WINDOW: Final = 256 * 1024


class ClientConnection(asyncio.Protocol):
    """The protocol of one upstream connection (see the module docstring)."""

    transport: asyncio.Transport

    def __init__(self, max_head_bytes: int, max_header_count: int, window: int = _WINDOW) -> None:
        self.parser = ResponseParser(max_head_bytes, max_header_count)
        self.events: deque[Event] = deque()
        self.error: BaseException | None = None
        self.closed = False
        #: Some byte of a response arrived since the last `start` (a retry is then unsafe).
        self.received = False
        self.requests = 0
        self._window = window
        self._queued = 0
        self._reading_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._writing_paused = False

    # -- asyncio callbacks -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            events = self.parser.feed(data)
        except ResponseError as exc:
            self._fail(exc)
            return
        self._queue(events)

    def eof_received(self) -> bool:
        try:
            events = self.parser.feed_eof()
        except ResponseError as exc:
            self._fail(exc)
            return False
        self.closed = True
        self._queue(events)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.parser.done and self.error is None and not self.parser.switched:
            self.error = exc or ConnectionResetError("the upstream closed the connection")
        self._wake()
        self._wake_drain()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_drain()

    # -- what the pool and Response use -----------------------------------------------------------

    @property
    def usable(self) -> bool:
        """Idle, sound and open: fit to carry another request."""
        return (not self.closed and self.error is None and self.parser.done
                and self.parser.keep_alive and not self.parser.switched
                and not self.transport.is_closing())

    def start(self, method: bytes) -> None:
        """A request goes out: expect its response."""
        self.parser.start(method)
        self.received = False
        self.requests += 1

    def write(self, data: bytes) -> None:
        if self.closed or self.error is not None:
            raise self.error or ConnectionResetError("the upstream closed the connection")
        self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the upstream reads slower than we write."""
        while self._writing_paused and not self.closed:
            self._drain_waiter = asyncio.get_running_loop().create_future()
            await self._drain_waiter
        if self.closed and self.error is not None:
            raise self.error

    async def next_event(self, timeout: float | None) -> Event:
        """The next response event; raises the connection's error, or TimeoutError."""
        while not self.events:
            if self.error is not None:
                raise self.error
            if self.closed:
                raise ConnectionResetError("the upstream closed the connection")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await self._waiter
            finally:
                self._waiter = None
        event = self.events.popleft()
        if type(event) is BodyData:
            self._queued -= len(event.data)
            if self._reading_paused and self._queued <= self._window // 2:
                self._reading_paused = False
                self.transport.resume_reading()
        return event

    def abort(self) -> None:
        """Drop the connection (it is not fit to reuse)."""
        self.closed = True
        self.transport.abort()

    # -- internals ---------------------------------------------------------------------------------

    def _queue(self, events: list[Event]) -> None:
        if not events:
            return
        for event in events:
            if type(event) is BodyData:
                self._queued += len(event.data)
        self.events.extend(events)
        if self._queued > self._window and not self._reading_paused and not self.closed:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        self.closed = True
        self.transport.abort()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_drain(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._drain_waiter = None
