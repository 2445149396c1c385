"""`wsgi.file_wrapper` (PEP 3333 §"Optional Platform-Specific File Handling").

An application returns `environ["wsgi.file_wrapper"](file, block_size)` to send a file.  The
wrapper iterates in blocks like any response, so middleware may read it; but when a
WSGIResource gets it back unchanged and the file has a real descriptor, the bytes from the
file's current position go out through `Request.send_file` (`sendfile(2)` over plain TCP).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any, Final

__all__ = ["FileWrapper", "see_through"]

_BLOCK_SIZE: Final = 64 * 1024


class FileWrapper:
    """A file as a WSGI response iterable, recognised by WSGIResource for sendfile."""

    def __init__(self, filelike: IO[bytes], blksize: int = _BLOCK_SIZE) -> None:
        self.filelike = filelike
        self.blksize = blksize

    def __iter__(self) -> Iterator[bytes]:
        """The file's bytes from its current position, `blksize` at a time."""
        while data := self.filelike.read(self.blksize):
            yield data

    def close(self) -> None:
        """Close the file (the server calls this once the response is over)."""
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()

    def fileno(self) -> int | None:
        """The descriptor of a real file, or None (a BytesIO, a socket-less stream)."""
        try:
            fd = self.filelike.fileno()
        except (AttributeError, OSError, ValueError):
            return None
        return fd if isinstance(fd, int) else None


def see_through(body: Any) -> Any:
    """What the application returned, seen through `wsgiref.validate`'s iterator wrapper.

    The wrapper only checks what iteration yields (bytes, after start_response), which the
    server checks too; seeing through it lets a list still go out whole and a FileWrapper
    still go out with sendfile when an application is developed under the validator.  The
    wrapper itself is still the one whose close() is called."""
    if type(body).__module__ == "wsgiref.validate":
        inner = getattr(body, "original_iterator", None)
        if type(inner) in (FileWrapper, list, tuple):
            return inner
    return body
