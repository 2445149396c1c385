"""What must end when the server on an event loop closes, beyond its own connections: the idle
upstream connections of `plugserve.client`'s pools, say, and the render tasks that the closing
connections cancelled.  Registered per loop; the listener's `close()` runs them, so that a test
server's loop (or a worker's) closes with nothing open and nothing pending."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable

__all__ = ["at_server_close", "end_with_server", "run_server_close"]

#: How long a closing server waits for the cancelled render tasks to unwind (a CGI script being
#: reaped, an upstream connection closing) before the loop may stop under them.
TASK_GRACE_S = 5.0

_callbacks: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, list[Callable[[], Awaitable[None]]]] = (
    weakref.WeakKeyDictionary())
_tasks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakSet[asyncio.Task[None]]]
_tasks = weakref.WeakKeyDictionary()


def at_server_close(callback: Callable[[], Awaitable[None]]) -> None:
    """Await `callback()` when the server on the running loop closes (once)."""
    callbacks = _callbacks.setdefault(asyncio.get_running_loop(), [])
    if callback not in callbacks:
        callbacks.append(callback)


def end_with_server(task: asyncio.Task[None]) -> None:
    """Have the server on `task`'s loop wait for `task` when it closes (held weakly: a task that
    ended is forgotten)."""
    _tasks.setdefault(task.get_loop(), weakref.WeakSet()).add(task)


async def run_server_close(loop: asyncio.AbstractEventLoop) -> None:
    """Wait (up to TASK_GRACE_S) for the tasks registered on `loop` that have not ended, then
    run and forget the callbacks registered on it."""
    pending = [task for task in _tasks.pop(loop, ()) if not task.done()]
    if pending:
        await asyncio.wait(pending, timeout=TASK_GRACE_S)
    for callback in _callbacks.pop(loop, []):
        await callback()
