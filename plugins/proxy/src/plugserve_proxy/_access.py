"""Who may use the forward proxy, and where it may go.

Clients on loopback always may; `--proxy-allow-client CIDR` admits others.  Once any other client
is admitted, destinations in loopback, link-local, private and other non-global ranges are
refused (403) unless `--proxy-allow-destination CIDR` allows them, so the proxy cannot be used to
reach internal addresses (SSRF).  The name is resolved once and the connection goes to the
address that was checked, so a DNS answer that changes in between (rebinding) gains nothing."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

from plugserve.client import UpstreamTimeout, UpstreamUnreachable

from . import _settings

__all__ = ["client_allowed", "resolve"]


def client_allowed(request: Any) -> bool:
    """The client may use the forward proxy."""
    host = getattr(request.client, "host", None)
    if host is None:  # a UNIX socket: only local users reach it
        return True
    address = ipaddress.ip_address(host)
    if address.is_loopback:
        return True
    return any(address in network for network in _settings.current().allow_clients)


async def resolve(host: str, port: int) -> tuple[str | None, str]:
    """(the address to connect to, "") or (None, why it is refused); raises UpstreamUnreachable
    for a name that does not resolve."""
    settings = _settings.current()
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(settings.connect_timeout):
            infos = await loop.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise UpstreamTimeout(f"{host}: the name did not resolve in time") from None
    except OSError as exc:
        raise UpstreamUnreachable(f"{host}: {exc.strerror or exc}") from None
    address = str(infos[0][4][0])
    if not settings.allow_clients:  # loopback clients only: their own machine is theirs
        return address, ""
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not ip.is_global and not any(ip in n for n in settings.allow_destinations):
            return None, f"{host} resolves to {ip}, an internal address"
    return address, ""
