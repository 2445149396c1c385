"""The relay's settings (from the command line, or the defaults), its client pool (one per
event loop) and the count of relayed requests in flight per personal server."""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
from dataclasses import dataclass

from plugserve.client import ConnectionPool

__all__ = ["DistribSettings", "current", "in_flight", "pool", "use"]


@dataclass(frozen=True)
class DistribSettings:
    """Every option of the relay; docs/distrib.md describes each."""

    #: A personal server that does not accept within this long is not running (502).
    connect_timeout: float = 1.0
    #: Each wait for a personal server's response head or next body bytes (504 before the head).
    timeout: float = 60.0
    #: Relayed requests in flight per personal server; one more gets 503.
    max_per_user: int = 16
    #: Follow symlinks out of a user's public_html (off: a user's site is contained).
    follow_symlinks: bool = False
    #: Trust the front server's X-Forwarded-* on UNIX sockets (set by --personal).
    personal: bool = False


_current = DistribSettings()
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ConnectionPool] = (
    weakref.WeakKeyDictionary())
#: Socket path -> relayed requests in flight to it.
in_flight: Counter[str] = Counter()


def use(settings: DistribSettings) -> None:
    """Make `settings` those of every relay from now on (the command calls it)."""
    global _current
    _current = settings
    _pools.clear()


def current() -> DistribSettings:
    """The settings in force."""
    return _current


def pool() -> ConnectionPool:
    """The running loop's pool of connections to personal servers, made on first use."""
    loop = asyncio.get_running_loop()
    found = _pools.get(loop)
    if found is None:
        settings = _current
        found = _pools[loop] = ConnectionPool(
            connect_timeout=settings.connect_timeout, timeout=settings.timeout)
    return found
