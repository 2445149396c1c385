"""What must end when the server on an event loop closes, beyond its own connections: the idle
upstream connections of `plugserve.client`'s pools, say.  Registered per loop; the listener's
`close()` runs them, so that a test server's loop (or a worker's) closes with nothing open."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable

__all__ = ["at_server_close", "run_server_close"]

_callbacks: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, list[Callable[[], Awaitable[None]]]] = (
    weakref.WeakKeyDictionary())


def at_server_close(callback: Callable[[], Awaitable[None]]) -> None:
    """Await `callback()` when the server on the running loop closes (once)."""
    callbacks = _callbacks.setdefault(asyncio.get_running_loop(), [])
    if callback not in callbacks:
        callbacks.append(callback)


async def run_server_close(loop: asyncio.AbstractEventLoop) -> None:
    """Run and forget the callbacks registered on `loop`."""
    for callback in _callbacks.pop(loop, []):
        await callback()
