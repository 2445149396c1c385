"""`wsgi.input`: the request body as PEP 3333 describes it, read from the application's thread.

The stream wraps a file and calls only its `read(n)` and `readline(n)`: the buffered body (a
file at offset 0), or, with the core's streaming bodies (`stream_request_body`, which
WSGIResource sets), `request.content.blocking`, whose blocking reads return the body as it
arrives and b"" at its end, raise an OSError when it cannot be completed, and send the
`100 Continue` a client waits for at the first read.  Either way this wrapper never
asks for more than the declared Content-Length, so an application that reads "everything" reads
exactly the body.  A chunked body (no Content-Length) is read to its end, which the server
marks: that is what `wsgi.input_terminated` (set to True in the environ) promises.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Final

__all__ = ["InputStream"]

#: What read() with no size reads per call of the underlying stream when the length is unknown.
_READ_ALL_CHUNK: Final = 64 * 1024


class InputStream:
    """The request body, never read past its Content-Length (None: read to the end)."""

    def __init__(self, content: IO[bytes], length: int | None) -> None:
        self._content = content
        self._remaining = length

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all the rest for -1 or None); b"" at the end of the body."""
        if size is None or size < 0:
            return self._read_all()
        remaining = self._remaining
        if remaining is not None:
            size = min(size, remaining)
        if size == 0:
            return b""
        parts: list[bytes] = []
        wanted = size
        while wanted:
            data = self._content.read(wanted)
            if not data:
                break
            parts.append(data)
            wanted -= len(data)
        return self._took(b"".join(parts) if len(parts) != 1 else parts[0])

    def _read_all(self) -> bytes:
        remaining = self._remaining
        if remaining is not None:
            return self.read(remaining)
        parts = []
        while data := self._content.read(_READ_ALL_CHUNK):
            parts.append(data)
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        """One line, through its b"\\n" (at most `size` bytes when size >= 0)."""
        remaining = self._remaining
        if size is None or size < 0:
            size = -1 if remaining is None else remaining
        elif remaining is not None:
            size = min(size, remaining)
        if size == 0:
            return b""
        return self._took(self._content.readline(size))

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        """The remaining lines; with a positive `hint`, stop once that many bytes were read."""
        lines = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        """The remaining lines, one at a time."""
        while line := self.readline():
            yield line

    def _took(self, data: bytes) -> bytes:
        if self._remaining is not None:
            self._remaining -= len(data)
        return data
