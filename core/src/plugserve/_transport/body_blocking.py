"""The blocking reads of a streamed request body, for worker threads (`BodyStream.blocking`).

They read the same buffer as the stream's coroutines, under its lock, and wait on its
condition; a read that would wait on the event loop raises RuntimeError instead of freezing
the server.  `read(n)` returns `n` bytes unless the body ends first (as a buffered file
does), and b"" at its end.  This is what WSGI's `wsgi.input` wraps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .body import BodyStream

__all__ = ["BlockingBody"]


class BlockingBody:
    """A read-only, non-seekable binary file over a BodyStream, read from a worker thread."""

    def __init__(self, stream: BodyStream) -> None:
        self._stream = stream

    def _wait(self, ready: Callable[[], bool]) -> None:
        stream = self._stream
        stream._started()
        while not ready():
            if stream._error is not None:
                raise stream._error
            if stream._eof or stream._closed:
                return
            if threading.get_ident() == stream._loop_thread:
                raise RuntimeError(
                    "reading a streamed request body on the event loop would block the server; "
                    "read it from a worker thread, or await request.content.read(n)"
                )
            if stream._paused:  # the reader wants more than the window holds: let it grow
                stream._resume()
            stream._cond.wait()

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all that is left when `size` is negative or None)."""
        stream = self._stream
        with stream._cond:
            if size is None or size < 0:
                chunks: list[bytes] = []
                while True:
                    self._wait(lambda: bool(stream._buf))
                    if not stream._buf:
                        return b"".join(chunks)
                    chunks.append(stream._take(len(stream._buf)))
            self._wait(lambda: len(stream._buf) >= size)
            return stream._take(size)

    def readline(self, size: int | None = -1) -> bytes:
        """One line, with its b"\\n" (at most `size` bytes when `size` is not negative)."""
        limit = -1 if size is None else size
        stream = self._stream
        with stream._cond:
            def ready() -> bool:
                return b"\n" in stream._buf or 0 <= limit <= len(stream._buf)

            self._wait(ready)
            end = stream._buf.find(b"\n")
            count = len(stream._buf) if end < 0 else end + 1
            if limit >= 0:
                count = min(count, limit)
            return stream._take(count)

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
        self._stream.close()

    @property
    def closed(self) -> bool:
        return self._stream.closed
