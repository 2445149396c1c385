"""A stand-in for Twisted's global `reactor`, for the calls resource code makes on it.

Ported code keeps `reactor.callLater(10, request.finish)`; only the import changes
(`from plugserve import reactor`).  Calls go to the running asyncio loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["DelayedCall", "reactor"]


class DelayedCall:
    """What callLater returns: `cancel()`, `active()`, as in Twisted."""

    def __init__(self, handle: asyncio.TimerHandle) -> None:
        self._handle = handle
        self._called = False

    def cancel(self) -> None:
        """Do not make the call."""
        self._handle.cancel()

    def active(self) -> bool:
        """True until the call was made or cancelled."""
        return not self._handle.cancelled() and not self._called


class _Reactor:
    """The subset of IReactorTime that resources use."""

    def callLater(self, delay: float, f: Callable[..., Any], *args: Any, **kw: Any) -> DelayedCall:
        """Call `f(*args, **kw)` after `delay` seconds on the running loop."""
        loop = asyncio.get_running_loop()
        call: DelayedCall

        def fire() -> None:
            call._called = True
            f(*args, **kw)

        call = DelayedCall(loop.call_later(delay, fire))
        return call

    def seconds(self) -> float:
        """The loop's clock."""
        return asyncio.get_running_loop().time()


reactor = _Reactor()
