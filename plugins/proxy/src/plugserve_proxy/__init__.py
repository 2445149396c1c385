"""plugserve-proxy: Twisted Web's `twisted.web.proxy`, on plugserve (see docs/proxy.md).

A forward proxy (`Proxy`, `ProxyRequest`, `ForwardProxyResource`), a reverse proxy
(`ReverseProxyResource`, `ReverseProxy`, `ReverseProxyRequest`) and the steps of relaying a
response (`ProxyClient`, `ProxyClientFactory`), with HTTP/1.1 keep-alive upstream, streamed
bodies, CONNECT tunnels and WebSocket tunnelling."""

from ._client import ProxyClient, ProxyClientFactory
from ._forward import ForwardProxyResource, Proxy, ProxyRequest
from ._reverse import ReverseProxy, ReverseProxyRequest, ReverseProxyResource

__all__ = [
    "ForwardProxyResource",
    "Proxy",
    "ProxyClient",
    "ProxyClientFactory",
    "ProxyRequest",
    "ReverseProxy",
    "ReverseProxyRequest",
    "ReverseProxyResource",
]
