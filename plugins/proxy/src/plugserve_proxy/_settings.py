"""The proxy's settings (from the command line, or the defaults) and its client pool, one per
event loop, so that resources built in a `--config` file share them with `--reverse-proxy`."""

from __future__ import annotations

import asyncio
import ipaddress
import weakref
from dataclasses import dataclass, field

from plugserve.client import ConnectionPool

__all__ = ["ProxySettings", "current", "pool", "use"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ProxySettings:
    """Every option of the proxy; docs/proxy.md describes each."""

    connect_timeout: float = 10.0
    timeout: float = 60.0
    pool_size: int = 32
    idle_timeout: float = 30.0
    #: Clients (besides loopback) that may use the forward proxy.
    allow_clients: tuple[Network, ...] = ()
    #: Destinations in loopback, link-local or private ranges that stay allowed once
    #: non-loopback clients are.
    allow_destinations: tuple[Network, ...] = ()
    connect_ports: frozenset[int] = field(default_factory=lambda: frozenset({443}))
    forwarded_headers: bool = True


_current = ProxySettings()
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ConnectionPool] = (
    weakref.WeakKeyDictionary())


def use(settings: ProxySettings) -> None:
    """Make `settings` those of every proxy resource from now on (the command calls it)."""
    global _current
    _current = settings
    _pools.clear()


def current() -> ProxySettings:
    """The settings in force."""
    return _current


def pool() -> ConnectionPool:
    """The running loop's upstream pool, made on first use."""
    loop = asyncio.get_running_loop()
    found = _pools.get(loop)
    if found is None:
        settings = _current
        found = _pools[loop] = ConnectionPool(
            max_idle=settings.pool_size, idle_timeout=settings.idle_timeout,
            connect_timeout=settings.connect_timeout, timeout=settings.timeout)
    return found
