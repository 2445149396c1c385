"""The request body: a file-like `content`, spooled to disk when large (as Twisted exposes it),
or, for a resource with `stream_request_body`, a stream read while the body arrives.

A `BodyStream` has two kinds of reader, on one buffer: coroutines on the event loop
(`await stream.read(n)`, `readline()`, `readexactly(n)`, `async for chunk in stream`), and
blocking reads for worker threads (`stream.blocking`, a file, see body_blocking.py), which
is what WSGI's `wsgi.input` wraps.  Both follow one back-pressure rule: once more than the
window (`--stream-window`) waits unread, the server stops reading from the client until the
reader catches up.  Both send the `100 Continue` a client may wait for at their first read
(RFC 9110 §10.1.1), unless the resource turned `auto_continue` off to relay the expectation.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import threading
from collections.abc import Callable
from typing import IO, Final

from ..error import RequestBodyError
from .body_blocking import BlockingBody

__all__ = ["SPOOL_THRESHOLD_BYTES", "STREAM_WINDOW_BYTES", "BodyStream", "new_body"]

#: Bodies declared larger than this (and chunked ones once they grow past it) go to a temp file.
SPOOL_THRESHOLD_BYTES: Final = 100_000

#: The default window of a streamed body (`Config.stream_window_bytes`, `--stream-window`).
STREAM_WINDOW_BYTES: Final = 64 * 1024


def new_body(content_length: int | None, chunked: bool) -> IO[bytes]:
    """A file to collect a body into: memory for small declared lengths, else spooled."""
    if not chunked and content_length is not None and content_length < SPOOL_THRESHOLD_BYTES:
        return io.BytesIO()
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_THRESHOLD_BYTES)


class BodyStream:
    """A request body handed to the resource while it arrives, with back-pressure.

    On the event loop, read with coroutines: `read(n)` returns up to `n` bytes as soon as
    some are there (all the rest for -1), `readexactly(n)` exactly `n` (else
    asyncio.IncompleteReadError), `readline()` through b"\\n", `async for chunk in stream`
    the pieces as they come; b"" means the end.  From a worker thread, read `blocking`.
    When the body cannot be completed (the client left, broke the framing, passed
    --max-body-size or timed out) a read raises RequestBodyError.  The server holds at most
    the window (plus one read from the socket) unread: past it, it stops reading from the
    client until the reader catches up, so a slow reader holds memory, never an unbounded
    buffer."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, on_drained: Callable[[], None],
        window: int = STREAM_WINDOW_BYTES, on_continue: Callable[[], None] | None = None,
    ) -> None:
        self._cond = threading.Condition()
        self._buf = bytearray()
        self._eof = False
        self._error: RequestBodyError | None = None
        self._closed = False
        self._paused = False
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._on_drained = on_drained
        self._window = window
        self._when_ready: Callable[[], None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._on_continue = on_continue
        #: Send the `100 Continue` the client waits for at the first read (True), or leave
        #: it to the resource, which calls `send_continue()` itself (a proxy relaying the
        #: expectation to its upstream sets this to False before it reads).
        self.auto_continue = True
        #: The same body for blocking reads from a worker thread (a file: read, readline...).
        self.blocking = BlockingBody(self)

    # -- the server's side (event loop) ---------------------------------------------------------

    def feed(self, data: bytes) -> bool:
        """Add arrived bytes; True when the reader is behind and the socket should pause."""
        with self._cond:
            if self._closed:
                return False
            self._on_continue = None  # the client sends: it waits for nothing any more
            self._buf += data
            self._cond.notify_all()
            size = len(self._buf)
            if size > self._window:
                self._paused = True
            paused = self._paused
        self._wake()
        if size >= self._window:
            self._ready()
        return paused

    def end(self) -> None:
        """The body is complete."""
        with self._cond:
            self._eof = True
            self._on_continue = None
            self._cond.notify_all()
        self._wake()
        self._ready()

    def when_ready(self, callback: Callable[[], None]) -> None:
        """Call `callback()` on the event loop once a reader can go on without waiting for
        the client: the body is complete, or a window's worth of it is there, or the client
        waits for the `100 Continue` that the first read sends.

        A server that starts a thread per request waits for this, so that a client trickling
        its body holds no thread: the body arrives at least at --min-body-rate (or it is cut
        off with a 408, and the callback is never called)."""
        with self._cond:
            ready = (self._eof or len(self._buf) >= self._window
                     or self._on_continue is not None)
            if not ready:
                self._when_ready = callback
        if ready:
            callback()

    def _ready(self) -> None:
        callback, self._when_ready = self._when_ready, None
        if callback is not None:
            callback()

    def fail(self, reason: str) -> None:
        """The body will not be completed: pending and later reads raise RequestBodyError.
        The first reason stands (a 413 is followed by the close it causes)."""
        with self._cond:
            if not self._eof and self._error is None:
                self._error = RequestBodyError(reason)
            self._on_continue = None
            self._cond.notify_all()
        self._wake()

    def _wake(self) -> None:
        """Wake a coroutine waiting in a read (on the loop; a thread's close wakes it there)."""
        waiter = self._waiter
        if waiter is None:
            return
        if threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self._wake)
            return
        self._waiter = None
        if not waiter.done():
            waiter.set_result(None)

    # -- 100 Continue -----------------------------------------------------------------------------

    @property
    def expect_continue(self) -> bool:
        """True while the client waits for a `100 Continue` that has not been sent."""
        return self._on_continue is not None

    def send_continue(self) -> None:
        """Send the `100 Continue` the client waits for, now (nothing if it waits for none,
        or once a response has started).  Reads do this themselves, unless `auto_continue`
        is False.  Safe to call from any thread."""
        callback = self._on_continue
        if callback is None:
            return
        if threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self.send_continue)
            return
        self._on_continue = None
        callback()

    def _started(self) -> None:
        """A read begins: the client may now be told to send the body."""
        if self._on_continue is not None and self.auto_continue:
            self.send_continue()

    # -- the reader's side ------------------------------------------------------------------------

    @property
    def buffered(self) -> int:
        """Bytes that arrived and wait unread (at most the window plus one socket read)."""
        return len(self._buf)

    def at_eof(self) -> bool:
        """True once the body is complete and every byte of it was read."""
        return self._eof and not self._buf

    def _take(self, count: int) -> bytes:
        buf = self._buf
        data = bytes(buf[:count])
        del buf[:count]
        if self._paused and len(buf) <= self._window // 2:
            self._resume()
        return data

    def _resume(self) -> None:
        self._paused = False
        if threading.get_ident() == self._loop_thread:  # a coroutine reader: no self-pipe
            self._loop.call_soon(self._on_drained)
            return
        try:
            self._loop.call_soon_threadsafe(self._on_drained)
        except RuntimeError:  # the loop is closed: the server has stopped
            pass

    async def _wait(self, ready: Callable[[], bool]) -> None:
        """Wait on the loop until `ready()`, the end, or the failure of the body."""
        if threading.get_ident() != self._loop_thread:
            raise RuntimeError(
                "the coroutine reads of a streamed request body run on the server's event "
                "loop; from a worker thread, read request.content.blocking"
            )
        self._started()
        while not ready():
            if self._error is not None:
                raise self._error
            if self._eof or self._closed:
                return
            if self._paused:  # the reader wants more than the window holds: let it grow
                self._resume()
            waiter = self._waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None

    async def read(self, n: int = -1) -> bytes:
        """Up to `n` bytes, as soon as any are there; all the rest for a negative `n`;
        b"" at the end of the body."""
        if n < 0:
            chunks: list[bytes] = []
            while chunk := await self.read(self._window):
                chunks.append(chunk)
            return b"".join(chunks)
        if n == 0:
            return b""
        await self._wait(lambda: bool(self._buf))
        with self._cond:
            return self._take(n)

    async def readexactly(self, n: int) -> bytes:
        """Exactly `n` bytes; asyncio.IncompleteReadError when the body ends first."""
        await self._wait(lambda: len(self._buf) >= n)
        with self._cond:
            data = self._take(n)
        if len(data) < n:
            raise asyncio.IncompleteReadError(data, n)
        return data

    async def readline(self) -> bytes:
        """One line, through its b"\\n" (the last one may lack it); b"" at the end."""
        await self._wait(lambda: b"\n" in self._buf)
        with self._cond:
            end = self._buf.find(b"\n")
            return self._take(len(self._buf) if end < 0 else end + 1)

    def __aiter__(self) -> BodyStream:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.read(self._window)
        if not chunk:
            raise StopAsyncIteration
        return chunk

    def close(self) -> None:
        """Stop reading: what is still to arrive is discarded."""
        with self._cond:
            self._closed = True
            self._buf.clear()
            self._cond.notify_all()
            if self._paused:
                self._resume()
        self._wake()

    @property
    def closed(self) -> bool:
        return self._closed
