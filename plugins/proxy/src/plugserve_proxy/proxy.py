"""`from plugserve_proxy import proxy` stands for `from twisted.web import proxy`: the same
names, so `proxy.Proxy()` and `proxy.ReverseProxyResource(...)` port unchanged."""

from . import (
    ForwardProxyResource,
    Proxy,
    ProxyClient,
    ProxyClientFactory,
    ProxyRequest,
    ReverseProxy,
    ReverseProxyRequest,
    ReverseProxyResource,
)

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
