"""Shared helpers for the wire-level tests.

The strict response reader and the raw client are plugserve.testing's (`RawClient`,
`RawResponse`, `read_response`, `parse_responses`), which plugins' own tests use too; this
module adds the fixture's type and a request the tests often send.
"""

from __future__ import annotations

from collections.abc import Callable

from plugserve.testing import (
    RawClient,
    RawResponse,
    TestServer,
    parse_responses,
    read_response,
)

__all__ = [
    "RawClient",
    "RawResponse",
    "ServerFactory",
    "good_request",
    "parse_responses",
    "read_response",
]

#: The type of the `plugserve_server` fixture.
ServerFactory = Callable[..., TestServer]


def good_request(host: bytes = b"a") -> bytes:
    """A minimal valid request that asks the server to close afterwards."""
    return b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
