"""The forward proxy: `Proxy` (an HTTPChannel) whose requests are `ProxyRequest`s, as in
Twisted, and `ForwardProxyResource`, the same as the root of a Site (`plugserve --plugin proxy`).

Absolute-form `http://` targets are relayed, and `CONNECT host:port` opens a tunnel to the ports
that `--proxy-connect-ports` allows.  Anything else is a 400, a client that may not use the proxy
a 403 (see `_access`), each refusal logged."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

from plugserve import http
from plugserve.client import Upstream, UpstreamError, format_authority
from plugserve.resource import Resource

from . import _settings
from ._access import client_allowed, resolve
from ._client import ProxyClientFactory
from ._headers import is_loop
from ._relay import error_page, pipe, relay
from ._reverse import start, upstream_headers

__all__ = ["ForwardProxyResource", "Proxy", "ProxyRequest", "forward"]

_log = logging.getLogger("plugserve.proxy")


def _refuse(request: Any, status: int, why: str) -> None:
    _log.warning("proxy: refused %s %s from %s: %s", request.method.decode("latin-1"),
                 request.uri.decode("latin-1"), getattr(request.client, "host", "-"), why)
    brief = {400: "Bad Request", 403: "Forbidden", 508: "Loop Detected"}[status]
    error_page(request, status, brief, why)


def _split_target(uri: bytes, ports: dict[bytes, int]) -> tuple[str, int, bytes] | str:
    """(host, port, rest) of an absolute-form target, or why it cannot be relayed."""
    scheme, sep, rest = uri.partition(b"://")
    if not sep:
        return "a proxy takes absolute-form targets (http://host/path) or CONNECT host:port"
    if scheme.lower() not in ports:
        return f"the scheme {scheme.decode('latin-1')}:// is not proxied (use CONNECT for https)"
    authority, slash, path = rest.partition(b"/")
    path = (slash + path).partition(b"#")[0]
    if b"?" in authority:
        authority, _, query = authority.partition(b"?")
        path = b"/?" + query
    return _split_authority(authority, ports[scheme.lower()], path or b"/")


def _split_authority(authority: bytes, default: int, rest: bytes = b""
                     ) -> tuple[str, int, bytes] | str:
    text = authority.decode("latin-1")
    if text.startswith("["):
        host, close, port_text = text[1:].partition("]")
        if not close or (port_text and not port_text.startswith(":")):
            return f"malformed authority {text!r}"
        port_text = port_text[1:]
    else:
        host, _, port_text = text.partition(":")
    if not host or "@" in text:
        return f"malformed authority {text!r}"
    if port_text and (not port_text.isdigit() or not 0 < int(port_text) < 65536):
        return f"bad port in {text!r}"
    return host, int(port_text) if port_text else default, rest


async def forward(request: Any, ports: dict[bytes, int],
                  factories: dict[bytes, type[ProxyClientFactory]]) -> None:
    """Serve one forward-proxy request (an absolute-form target, or CONNECT)."""
    if not client_allowed(request):
        _refuse(request, 403, "this client may not use the proxy (see --proxy-allow-client)")
        return
    if is_loop(request):
        _refuse(request, 508, "the request has passed through this proxy already")
        return
    if request.method == b"CONNECT":
        await _connect(request)
        return
    parts = _split_target(request.uri, ports)
    if isinstance(parts, str):
        _refuse(request, 400, parts)
        return
    host, port, rest = parts
    try:
        address, why = await resolve(host, port)
    except UpstreamError as exc:
        _log.warning("proxy: %s: %s", request.uri.decode("latin-1"), exc)
        error_page(request, exc.status, "Bad Gateway" if exc.status == 502 else
                   "Gateway Timeout", "The destination could not be reached.")
        return
    if address is None:
        _refuse(request, 403, why)
        return
    host_header = (request.requestHeaders.getRawHeaders(b"host") or
                   [format_authority(host, port).encode("idna")])[-1]
    headers = upstream_headers(request, host_header, forwarded=False)
    upstream = Upstream(address, port)
    scheme = request.uri.partition(b"://")[0].lower()
    factory = factories[scheme](request.method, rest, request.clientproto, headers, b"", request)
    await relay(request, upstream, rest, headers, factory.buildProtocol(None))


async def _connect(request: Any) -> None:
    parts = _split_authority(request.uri, -1)
    if isinstance(parts, str) or parts[1] < 0:
        _refuse(request, 400, "CONNECT takes host:port")
        return
    host, port, _ = parts
    settings = _settings.current()
    if port not in settings.connect_ports:
        _refuse(request, 403, f"CONNECT to port {port} is not allowed "
                "(see --proxy-connect-ports)")
        return
    try:
        address, why = await resolve(host, port)
        if address is None:
            _refuse(request, 403, why)
            return
        async with asyncio.timeout(settings.connect_timeout):
            up_reader, up_writer = await asyncio.open_connection(address, port)
    except (UpstreamError, OSError) as exc:
        status = getattr(exc, "status", 504 if isinstance(exc, TimeoutError) else 502)
        _log.warning("proxy: CONNECT %s: %s", request.uri.decode("latin-1"), exc)
        error_page(request, status, "Bad Gateway" if status == 502 else "Gateway Timeout",
                   "The destination could not be reached.")
        return
    request.setResponseCode(200, b"Connection established")
    try:
        reader, writer = await request.take_over()
    except BaseException:
        up_writer.close()
        raise
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


class ProxyRequest(http.Request):
    """A forward-proxy request (Twisted's): override `process()` to log or filter, and call
    `super().process()` to relay.  `ports` maps the schemes served to their default ports;
    `protocols` to the ProxyClientFactory that relays them."""

    ports: ClassVar[dict[bytes, int]] = {b"http": 80}
    protocols: ClassVar[dict[bytes, type[ProxyClientFactory]]] = {b"http": ProxyClientFactory}
    stream_request_body = True

    def process(self) -> None:
        start(self, forward(self, self.ports, self.protocols))


class Proxy(http.HTTPChannel):
    """The channel of a forward proxy (Twisted's `proxy.Proxy`)."""

    requestFactory = ProxyRequest


class ForwardProxyResource(Resource):
    """The forward proxy as a Site's root: every request, whatever its path, is relayed."""

    isLeaf = True
    stream_request_body = True
    ports: ClassVar[dict[bytes, int]] = ProxyRequest.ports
    protocols: ClassVar[dict[bytes, type[ProxyClientFactory]]] = ProxyRequest.protocols

    def render(self, request: Any) -> Any:
        return forward(request, self.ports, self.protocols)
