"""A server request's body, as the body of a request that relays it (the proxy's, the
per-user relay's): streamed from a streaming resource's `BodyStream`, or whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

__all__ = ["request_body"]


def request_body(request: Any) -> tuple[bytes | AsyncIterator[bytes] | None, int | None]:
    """The body of `request` to send on, and its length when the client declared one (None
    for a chunked body, which the relay sends chunked too); (None, None) without a body."""
    headers = request.requestHeaders
    length_header = headers.getRawHeaders(b"content-length")
    chunked = headers.getRawHeaders(b"transfer-encoding") is not None
    length = int(length_header[-1]) if length_header and not chunked else None
    if not chunked and not length:
        return None, None
    content = request.content
    if hasattr(content, "__aiter__"):
        return aiter(content), length
    return content.read(), None
