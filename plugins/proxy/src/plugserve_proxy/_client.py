"""Twisted's `ProxyClient` and `ProxyClientFactory`: the steps of relaying a response, to
override.  Twisted's ProxyClient is an `HTTPClient` protocol; here the upstream connection is
`plugserve.client`'s, and a ProxyClient only receives the response's steps, with Twisted's
method names, and writes them to the client's request (`father`)."""

from __future__ import annotations

from typing import Any

from plugserve.http_headers import HOP_BY_HOP

__all__ = ["ProxyClient", "ProxyClientFactory"]


class ProxyClient:
    """Relays one upstream response to `father`; override a `handle*` step to change it."""

    def __init__(self, command: bytes, rest: bytes, version: bytes,
                 headers: dict[bytes, bytes] | list[tuple[bytes, bytes]], data: bytes,
                 father: Any) -> None:
        self.command = command
        self.rest = rest
        self.version = version
        self.headers = headers
        self.data = data
        self.father = father

    def handleStatus(self, version: bytes, code: bytes, message: bytes) -> None:
        """The status line: becomes the client's."""
        self.father.setResponseCode(int(code), message)

    def handleHeader(self, key: bytes, value: bytes) -> None:
        """One end-to-end header (repeats arrive one by one and are all kept)."""
        if key.lower() not in HOP_BY_HOP:
            self.father.responseHeaders.addRawHeader(key, value)

    def handleEndHeaders(self) -> None:
        """All headers are in."""

    def handleResponsePart(self, buffer: bytes) -> None:
        """A piece of the body."""
        self.father.write(buffer)

    def handleResponseEnd(self) -> None:
        """The body ended: so does the client's response."""
        if not self.father.finished:
            self.father.finish()


class ProxyClientFactory:
    """Builds the ProxyClient of one relayed request (Twisted's signature)."""

    protocol: type[ProxyClient] = ProxyClient

    def __init__(self, command: bytes, rest: bytes, version: bytes,
                 headers: dict[bytes, bytes] | list[tuple[bytes, bytes]], data: bytes,
                 father: Any) -> None:
        self.command = command
        self.rest = rest
        self.version = version
        self.headers = headers
        self.data = data
        self.father = father

    def buildProtocol(self, addr: Any = None) -> ProxyClient:
        """The ProxyClient for this request."""
        return self.protocol(self.command, self.rest, self.version, self.headers, self.data,
                             self.father)
