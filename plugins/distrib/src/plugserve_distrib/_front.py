"""What the front server tells a personal server about the real request, and how a personal
server believes it.

The front sends `X-Forwarded-For` (the client's IP), `-Proto`, `-Host` (the Host the client
sent) and `-Prefix` (the path of the subscription, `/alice.plugserve`), after dropping any the
client sent itself.  These are the names that werkzeug's ProxyFix and most servers read, so a
personal server need not be plugserve.  A plugserve personal server believes them only on a
UNIX socket, and only with `--personal` (or under a `ResourcePublisher`): a TCP client can
never set them.  It then serves the request as the client made it: the client's address, the
front's Host and scheme, and the prefix in `prepath`, `uri` and `path`, so that `prePathURL`,
redirects, listing links and session cookies are all right."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from plugserve.address import IPv4Address, IPv6Address, UNIXAddress

__all__ = ["FRONT_HEADERS", "apply_front", "front_headers"]

_log = logging.getLogger("plugserve.distrib")

FRONT_HEADERS: Final = frozenset({
    b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-prefix",
    b"x-forwarded-port", b"forwarded",
})


def front_headers(request: Any, prefix: bytes) -> list[tuple[bytes, bytes]]:
    """The headers that tell the personal server about `request`, mounted at `prefix`."""
    client = getattr(request.client, "host", None) or "unknown"
    headers = [(b"x-forwarded-for", client.encode("ascii", "replace")),
               (b"x-forwarded-proto", b"https" if request.isSecure() else b"http"),
               (b"x-forwarded-prefix", prefix)]
    host = request.requestHeaders.getRawHeaders(b"host")
    if host:
        headers.append((b"x-forwarded-host", host[-1]))
    return headers


def apply_front(request: Any) -> None:
    """Serve `request` as the front server says the client made it (a UNIX-socket request of
    a personal server; others are left alone)."""
    if not isinstance(request.getHost(), UNIXAddress):
        return
    headers = request.requestHeaders
    client = headers._last(b"x-forwarded-for")
    if client is not None:
        _set_client(request, client)
    proto = headers._last(b"x-forwarded-proto")
    host = headers._last(b"x-forwarded-host")
    if host is not None and proto in (b"http", b"https", None):
        secure = proto == b"https"
        name, _, port = host.rpartition(b":") if host.rsplit(b"]", 1)[-1].count(b":") else (
            host, b"", b"")
        number = int(port) if port.isdigit() and 0 < int(port) < 65536 else (
            443 if secure else 80)
        if name:
            request.setHost(name, number, secure)
    prefix = headers._last(b"x-forwarded-prefix")
    if prefix:
        _set_prefix(request, prefix)


def _set_client(request: Any, value: bytes) -> None:
    try:
        ip = ipaddress.ip_address(value.split(b",")[-1].strip().decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        _log.info("ignored X-Forwarded-For %r from the front server", value)
        return
    kind = IPv6Address if ip.version == 6 else IPv4Address
    request.client = kind("TCP", ip.compressed, 0)


def _set_prefix(request: Any, prefix: bytes) -> None:
    """`/alice.plugserve` goes before the path: into prepath (unquoted), uri and path."""
    prefix = b"/" + prefix.strip(b"/")
    segments = [unquote_to_bytes(s) for s in prefix.split(b"/")[1:]]
    if prefix == b"/" or any(s in (b"", b".", b"..") or b"/" in s for s in segments):
        _log.info("ignored X-Forwarded-Prefix %r from the front server", prefix)
        return
    request.prepath = segments + request.prepath
    request.uri = prefix + request.uri
    request.path = prefix + request.path
