"""`--trust-forwarded CIDR`: believe what trusted front proxies say about the client.

From a peer in the trusted ranges, and only from one, `Forwarded` (RFC 7239) or else
`X-Forwarded-For`, `-Host`, `-Proto` and `-Port` set the request's client address, Host,
scheme and port, so that `getClientAddress`, `getClientIP`, `isSecure`, `prePathURL` and the
access log show the real client.  The chain of addresses is read from the right, past every
trusted proxy: the first untrusted address is the client (a client cannot forge the part
its own proxies added).  Host and scheme come from the trusted hop nearest the client that
states them: in `Forwarded`, its element; with X-Forwarded-*, the last `-Host`/`-Proto`/`-Port`
value, the one our trusted peer set."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from plugserve.address import IPv4Address, IPv6Address

from ._names import host_key

if TYPE_CHECKING:
    from plugserve.server import Request

__all__ = ["Network", "apply_forwarded", "parse_node", "trusted", "use"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IP = ipaddress.IPv4Address | ipaddress.IPv6Address

_log = logging.getLogger("plugserve.vhost")
_trusted: tuple[Network, ...] = ()

# One `name=value` of a Forwarded element, and the separator after it.
_PAIR: Final = re.compile(
    rb'\s*([A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s"]*)\s*(;|,|$)')


def use(networks: Sequence[Network]) -> None:
    """Trust these ranges from now on (the command calls it; empty trusts nobody)."""
    global _trusted
    _trusted = tuple(networks)


def trusted() -> tuple[Network, ...]:
    """The ranges in force."""
    return _trusted


def _is_trusted(ip: IP) -> bool:
    return any(ip in network for network in _trusted)


def parse_node(value: bytes) -> tuple[IP, int] | None:
    """(address, port) of `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `::1`; None for `unknown`,
    an obfuscated `_name` or anything malformed."""
    text = value.strip().strip(b'"').decode("latin-1")
    port = "0"
    if text.startswith("["):
        text, _, tail = text[1:].partition("]")
        if tail:
            port = tail[1:] if tail.startswith(":") else "x"
    elif text.count(":") == 1:
        text, port = text.split(":")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if not port.isdigit() or int(port) > 65535:
        return None
    return ip, int(port)


def _forwarded_elements(values: list[bytes]) -> list[dict[bytes, bytes]] | None:
    """The elements of Forwarded headers, left to right; None if one is malformed."""
    elements: list[dict[bytes, bytes]] = [{}]
    for value in values:
        pos = 0
        while pos < len(value):
            match = _PAIR.match(value, pos)
            if match is None or match.end() == pos:
                return None
            name, raw, sep = match.groups()
            if raw.startswith(b'"'):
                raw = re.sub(rb"\\(.)", rb"\1", raw[1:-1])
            elements[-1][name.lower()] = raw
            if sep != b";":
                elements.append({})
            pos = match.end()
        if elements[-1]:
            elements.append({})
    return [element for element in elements if element]


def _x_forwarded(request: Request) -> list[dict[bytes, bytes]]:
    """X-Forwarded-For as Forwarded elements; the last -Host/-Proto/-Port on the last one."""
    headers = request.requestHeaders
    hops: list[dict[bytes, bytes]] = [
        {b"for": item} for line in headers.getRawHeaders(b"x-forwarded-for", [])
        for item in line.split(b",") if item.strip()] or [{}]
    for header, key in ((b"x-forwarded-host", b"host"), (b"x-forwarded-proto", b"proto"),
                        (b"x-forwarded-port", b"port")):
        values = headers.getRawHeaders(header)
        if values:
            hops[-1][key] = values[-1].split(b",")[-1].strip()
    return hops if hops[-1] else []


def apply_forwarded(request: Request) -> None:
    """Rewrite `request` from its forwarding headers if its peer is trusted (else leave it)."""
    peer = getattr(request.client, "host", None)
    if peer is None:
        return  # a UNIX socket: no address to trust
    current = ipaddress.ip_address(peer)
    if not _is_trusted(current):
        return
    headers = request.requestHeaders
    raw = headers.getRawHeaders(b"forwarded")
    if raw:
        elements = _forwarded_elements(raw)
        if elements is None:
            _log.info("ignored a malformed Forwarded header from %s: %r", peer, raw)
            return
    else:
        elements = _x_forwarded(request)
    walked: list[dict[bytes, bytes]] = []
    client: tuple[IP, int] | None = None
    # Walk left from our peer while the hop we are at is a trusted proxy.
    for element in reversed(elements):
        if not _is_trusted(current):
            break
        walked.append(element)
        node = parse_node(element.get(b"for", b""))
        if node is None:
            break  # unknown or hidden: the client is not known beyond this proxy
        client = node
        current = node[0]
    if client is not None:
        ip, port = client
        kind = IPv6Address if ip.version == 6 else IPv4Address
        request.client = kind("TCP", ip.compressed, port)
    # Host and scheme: from the trusted hop nearest the client that states them.
    for element in reversed(walked):
        if b"host" in element or b"proto" in element or b"port" in element:
            _set_host(request, element)
            break


def _set_host(request: Request, element: dict[bytes, bytes]) -> None:
    """The front's Host, scheme and port from a hop's `host`, `proto` (and X-`port`)."""
    proto = element.get(b"proto", b"").lower()
    host = element.get(b"host")
    if proto not in (b"", b"http", b"https") or (host is not None and not host_key(host)):
        _log.info("ignored forwarded proto/host from %s: %r %r",
                  request.getClientIP(), proto, host)
        return
    if not proto and host is None:
        return
    secure = proto == b"https" if proto else request.isSecure()
    if host is None:
        host = request.requestHeaders._last(b"host") or b""
        if not host_key(host):
            return
    name, port = _name_and_port(host)
    if port is None:
        given = element.get(b"port", b"")
        port = int(given) if given.isdigit() and 0 < int(given) < 65536 else (
            443 if secure else 80)
    request.setHost(name, port, secure)


def _name_and_port(host: bytes) -> tuple[bytes, int | None]:
    """`example.com:8443` -> (b"example.com", 8443); `[::1]` -> (b"[::1]", None)."""
    tail = host.rsplit(b"]", 1)[-1]
    if b":" in tail:
        name, _, port = host.rpartition(b":")
        return name, int(port) if port.isdigit() and 0 < int(port) < 65536 else None
    return host, None
