"""The request body: a file-like `content`, spooled to disk when large (as Twisted exposes it),
or, for a resource with `stream_request_body`, a stream read while the body arrives."""

from __future__ import annotations

import asyncio
import io
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import IO, Final

from .error import RequestBodyError

__all__ = ["SPOOL_THRESHOLD_BYTES", "STREAM_WINDOW_BYTES", "BodyStream", "new_body"]

#: Bodies declared larger than this (and chunked ones once they grow past it) go to a temp file.
SPOOL_THRESHOLD_BYTES: Final = 100_000

#: A streamed body buffers at most about this much before the server stops reading the socket.
STREAM_WINDOW_BYTES: Final = 64 * 1024


def new_body(content_length: int | None, chunked: bool) -> IO[bytes]:
    """A file to collect a body into: memory for small declared lengths, else spooled."""
    if not chunked and content_length is not None and content_length < SPOOL_THRESHOLD_BYTES:
        return io.BytesIO()
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_THRESHOLD_BYTES)


class BodyStream:
    """A request body handed to the resource while it arrives, with back-pressure.

    The reads block until the bytes are there, so they are for worker threads (a WSGI
    application, a thread started by the resource); called on the event loop a read that
    would have to wait raises RuntimeError instead of freezing the server.  `read(n)` returns
    `n` bytes unless the body ends first (as a buffered file does), and b"" at its end.  When
    the body cannot be completed (the client left, broke the framing, passed --max-body-size or
    timed out) a read raises RequestBodyError.  Once more than STREAM_WINDOW_BYTES wait unread the
    server stops reading from the client until the reader catches up, so a slow reader holds
    memory, never an unbounded buffer."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, on_drained: Callable[[], None],
        window: int = STREAM_WINDOW_BYTES,
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

    # -- the server's side (event loop) ---------------------------------------------------------

    def feed(self, data: bytes) -> bool:
        """Add arrived bytes; True when the reader is behind and the socket should pause."""
        with self._cond:
            if self._closed:
                return False
            self._buf += data
            self._cond.notify_all()
            size = len(self._buf)
            if size > self._window:
                self._paused = True
            paused = self._paused
        if size >= self._window:
            self._ready()
        return paused

    def end(self) -> None:
        """The body is complete."""
        with self._cond:
            self._eof = True
            self._cond.notify_all()
        self._ready()

    def when_ready(self, callback: Callable[[], None]) -> None:
        """Call `callback()` on the event loop once a reader can go on without waiting for
        the client: the body is complete, or a window's worth of it (64 KiB) is there.

        A server that starts a thread per request waits for this, so that a client trickling
        its body holds no thread: the body arrives at least at --min-body-rate (or it is cut
        off with a 408, and the callback is never called)."""
        with self._cond:
            ready = self._eof or len(self._buf) >= self._window
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
            self._cond.notify_all()

    # -- the reader's side (a worker thread) ----------------------------------------------------

    def _wait(self, ready: Callable[[], bool]) -> None:
        while not ready():
            if self._error is not None:
                raise self._error
            if self._eof or self._closed:
                return
            if threading.get_ident() == self._loop_thread:
                raise RuntimeError(
                    "reading a streamed request body on the event loop would block the server; "
                    "read it from a worker thread"
                )
            if self._paused:  # the reader wants more than the window holds: let it grow
                self._resume()
            self._cond.wait()

    def _take(self, count: int) -> bytes:
        buf = self._buf
        data = bytes(buf[:count])
        del buf[:count]
        if self._paused and len(buf) <= self._window // 2:
            self._resume()
        return data

    def _resume(self) -> None:
        self._paused = False
        try:
            self._loop.call_soon_threadsafe(self._on_drained)
        except RuntimeError:  # the loop is closed: the server has stopped
            pass

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all that is left when `size` is negative or None)."""
        with self._cond:
            if size is None or size < 0:
                chunks: list[bytes] = []
                while True:
                    self._wait(lambda: bool(self._buf))
                    if not self._buf:
                        return b"".join(chunks)
                    chunks.append(self._take(len(self._buf)))
            self._wait(lambda: len(self._buf) >= size)
            return self._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        """One line, with its b"\\n" (at most `size` bytes when `size` is not negative)."""
        limit = -1 if size is None else size
        with self._cond:
            def ready() -> bool:
                return b"\n" in self._buf or 0 <= limit <= len(self._buf)

            self._wait(ready)
            end = self._buf.find(b"\n")
            count = len(self._buf) if end < 0 else end + 1
            if limit >= 0:
                count = min(count, limit)
            return self._take(count)

    def readlines(self, hint: int = -1) -> list[bytes]:
        """The remaining lines (stopping once `hint` bytes were read, when it is positive)."""
        lines: list[bytes] = []
        total = 0
        for line in self:
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        """Stop reading: what is still to arrive is discarded."""
        with self._cond:
            self._closed = True
            self._buf.clear()
            self._cond.notify_all()
            if self._paused:
                self._resume()

    @property
    def closed(self) -> bool:
        return self._closed
