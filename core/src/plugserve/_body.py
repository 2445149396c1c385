"""The request body as Twisted exposes it: a file-like `content`, spooled to disk when large."""

from __future__ import annotations

import io
import tempfile
from typing import IO, Final

__all__ = ["SPOOL_THRESHOLD_BYTES", "new_body"]

#: Bodies declared larger than this (and chunked ones once they grow past it) go to a temp file.
SPOOL_THRESHOLD_BYTES: Final = 100_000


def new_body(content_length: int | None, chunked: bool) -> IO[bytes]:
    """A file to collect a body into: memory for small declared lengths, else spooled."""
    if not chunked and content_length is not None and content_length < SPOOL_THRESHOLD_BYTES:
        return io.BytesIO()
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_THRESHOLD_BYTES)
