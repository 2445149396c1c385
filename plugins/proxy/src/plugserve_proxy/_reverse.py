"""The reverse proxy: `ReverseProxyResource(host, port, path)` in a resource tree, and
`ReverseProxy`/`ReverseProxyRequest` at the channel level, as in Twisted.

Segments are re-quoted as Twisted does (`%2F` stays encoded, the query is kept), with two
fixes: a path that ends in `/` does not gain a second one, and a `.` or `..` segment is refused
(400), so `/api/%2e%2e/admin` never reaches the upstream's `/admin`.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar
from urllib.parse import quote

from plugserve import http
from plugserve.client import Upstream, format_authority
from plugserve.resource import Resource

from . import _settings
from ._client import ProxyClientFactory
from ._headers import end_to_end, forwarded_headers, is_loop, via
from ._relay import error_page, relay, wants_websocket

__all__ = ["ReverseProxy", "ReverseProxyRequest", "ReverseProxyResource"]


def upstream_headers(request: Any, host_header: bytes, *, forwarded: bool) -> list[
        tuple[bytes, bytes]]:
    """The request's end-to-end headers for the upstream, with Host, Via and (reverse proxy)
    the forwarded headers."""
    raw = [(name.lower(), value) for name, values in request.requestHeaders.getAllRawHeaders()
           for value in values]
    headers = [(n, v) for n, v in end_to_end(raw, websocket=wants_websocket(request))
               if n != b"host"]
    headers.insert(0, (b"host", host_header))
    headers.append((b"via", b", ".join([*(request.requestHeaders.getRawHeaders(b"via") or ()),
                                        via(request, request.clientproto)])))
    if forwarded and _settings.current().forwarded_headers:
        names = {b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto", b"forwarded"}
        headers = [(n, v) for n, v in headers if n not in names] + forwarded_headers(request)
    return headers


class ReverseProxyResource(Resource):
    """Everything below this resource is served by `host:port`, under `path`.

    `host` may also be an `Upstream` (a UNIX socket, say), and `path` str or bytes."""

    proxyClientFactoryClass: ClassVar[type[ProxyClientFactory]] = ProxyClientFactory
    stream_request_body = True

    def __init__(self, host: str | Upstream, port: int = 80, path: str | bytes = b"",
                 reactor: Any = None) -> None:
        super().__init__()
        self.upstream = host if isinstance(host, Upstream) else Upstream(host, port)
        self.host = self.upstream.host
        self.port = self.upstream.port
        self.path = path.encode("utf-8") if isinstance(path, str) else path
        self.reactor = reactor
        self._bad_segment = False

    def getChild(self, path: bytes, request: Any) -> ReverseProxyResource:
        """The resource for one more segment, re-quoted."""
        base = self.path if not self.path.endswith(b"/") else self.path[:-1]
        child = type(self)(self.upstream, self.port,
                           base + b"/" + quote(path, safe="").encode("ascii"), self.reactor)
        child._bad_segment = self._bad_segment or path in (b".", b"..")
        return child

    def render(self, request: Any) -> Any:
        """Relay the request (a coroutine: the server awaits it and cancels it if the client
        leaves)."""
        return self._render(request)

    async def _render(self, request: Any) -> None:
        if self._bad_segment:
            error_page(request, 400, "Bad Request",
                       "A . or .. path segment cannot go to the upstream.")
            return
        if is_loop(request):
            error_page(request, 508, "Loop Detected", "This request has passed through this "
                       "proxy already.")
            return
        target = self.path or b"/"
        query = request.uri.partition(b"?")[2]
        if query:
            target += b"?" + query
        upstream = self.upstream
        host = (upstream.authority if upstream.socket_path is None else upstream.host)
        headers = upstream_headers(request, host.encode("idna"), forwarded=True)
        factory = self.proxyClientFactoryClass(request.method, target, request.clientproto,
                                               headers, b"", request)
        await relay(request, upstream, target, headers, factory.buildProtocol(None))


class ReverseProxyRequest(http.Request):
    """A request relayed whole to its channel's factory's `host:port`, URI unchanged."""

    proxyClientFactoryClass: ClassVar[type[ProxyClientFactory]] = ProxyClientFactory

    def process(self) -> None:
        factory = self.channel.factory  # type: ignore[attr-defined]
        upstream = Upstream(factory.host, factory.port)
        headers = upstream_headers(self, format_authority(factory.host, 80).encode("idna"),
                                   forwarded=True)
        client = self.proxyClientFactoryClass(self.method, self.uri, self.clientproto, headers,
                                              b"", self).buildProtocol(None)
        start(self, relay(self, upstream, self.uri, headers, client))


class ReverseProxy(http.HTTPChannel):
    """The channel of a reverse proxy at the protocol level; its factory has `host`, `port`."""

    requestFactory = ReverseProxyRequest


def start(request: Any, work: Any) -> None:
    """Run `work` for a request that processes itself, cancelled if the client leaves."""
    task = asyncio.ensure_future(work)
    request.notifyFinish().addErrback(lambda _failure: task.cancel())
