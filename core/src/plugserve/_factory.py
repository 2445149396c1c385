"""Twisted's protocol factories: `HTTPFactory` builds the `HTTPChannel` of each connection, and
the channel builds a `requestFactory` request for each request it reads.  Public as
`plugserve.http.HTTPFactory` and `plugserve.http.HTTPChannel`; `plugserve.server.Site` is an
HTTPFactory whose channels hand requests to its resource tree.

A factory that is not a Site serves below the resource tree, as Twisted's forward proxy does:

    class MyRequest(http.Request):
        def process(self):
            self.setHeader(b"content-type", b"text/plain")
            self.write(b"hello\\n")
            self.finish()

    class MyChannel(http.HTTPChannel):
        requestFactory = MyRequest

    class MyFactory(http.HTTPFactory):
        def buildProtocol(self, addr):
            return MyChannel()

Every limit, timer and the graceful shutdown apply to its channels as to a Site's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ._request import Request
from ._transport.channel import HTTPChannel as _Channel

__all__ = ["HTTPChannel", "HTTPFactory"]


class HTTPChannel(_Channel):
    """One client connection (an asyncio protocol) that reads requests of `requestFactory`.

    Build it without arguments in `HTTPFactory.buildProtocol`; the server attaches it to the
    run before the connection starts."""

    requestFactory: Any = Request


class HTTPFactory:
    """Builds the channel of each connection (Twisted's `twisted.web.http.HTTPFactory`).

    `logPath` is where `plugserve.run`/`serve` write the access log, as for a Site, in the
    format of `logFormatter` if given; `timeout` and `reactor` are accepted and ignored (use
    the timeout options)."""

    protocol: ClassVar[type[_Channel]] = HTTPChannel
    timeOut: float = 60

    def __init__(
        self,
        logPath: str | None = None,
        timeout: float = 60,
        logFormatter: Any = None,
        reactor: Any = None,
    ) -> None:
        self.logPath = logPath
        self.logFormatter = logFormatter
        self.timeOut = timeout

    def buildProtocol(self, addr: Any) -> _Channel:
        """A new channel for a connection from `addr` (None: the peer is the channel's `peer`,
        known once the connection is made)."""
        channel = self.protocol()
        channel.factory = self  # type: ignore[attr-defined]
        return channel
