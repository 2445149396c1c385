"""Handing work from application threads to the event loop, in order.

Everything that touches a request runs on the loop; an application's thread only queues
callables (`put`) or waits for a coroutine (`wait`), which goes through the same queue, so it
starts after everything its thread queued before.  One Handoff serves every request of a loop:
when the loop is busy, responses finished by many threads cost it one wake-up (one write to its
self-pipe) instead of one each.  A drain runs the callables queued when it starts and leaves
later ones to the next loop iteration, so a stream of them cannot starve the loop's I/O.

A thread never waits forever: if the loop stops (the server shut down), `wait` raises
ConnectionLost within a fraction of a second, so a worker stuck on a slow client does not keep
the process from exiting.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

from plugserve.error import ConnectionLost

__all__ = ["Handoff"]

_T = TypeVar("_T")
_POLL_S: Final = 0.5
_log = logging.getLogger("plugserve.wsgi")
#: The tasks started by `wait` and not done yet (used only on the loop).
_tasks: set[asyncio.Task[Any]] = set()


class Handoff:
    """A queue of callables from worker threads to one loop, and waits on that loop."""

    __slots__ = ("_lock", "_ops", "_scheduled", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._ops: deque[Callable[[], None]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False

    def put(self, op: Callable[[], None]) -> None:
        """Run `op()` on the loop after what was put before (from a worker thread)."""
        with self._lock:
            self._ops.append(op)
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self.loop.call_soon_threadsafe(self._run)
        except RuntimeError:  # the loop is closed: the server is gone
            raise ConnectionLost("the server stopped") from None

    def _run(self) -> None:
        with self._lock:
            ops, self._ops = self._ops, deque()
        for op in ops:
            try:
                op()
            except Exception:  # noqa: BLE001 - one failing op must not stall the ones after it
                _log.exception("WSGI response step failed")
        with self._lock:
            if not self._ops:
                self._scheduled = False
                return
        self.loop.call_soon(self._run)

    def wait(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run `coroutine` on the loop after the callables queued before; return or raise its
        result.  Raises ConnectionLost if the loop stops first."""
        if _running_loop() is self.loop:
            coroutine.close()
            raise RuntimeError("a WSGI application must run in an executor's thread, not on "
                               "the event loop (an executor that runs work inline?)")
        result: concurrent.futures.Future[_T] = concurrent.futures.Future()
        started = False

        def start() -> None:
            nonlocal started
            started = True
            task = self.loop.create_task(coroutine)
            _tasks.add(task)  # the loop keeps only weak references to tasks
            task.add_done_callback(lambda done: _copy(done, result))

        try:
            self.put(start)
        except ConnectionLost:
            coroutine.close()
            raise
        while True:
            done, _ = concurrent.futures.wait([result], timeout=_POLL_S)
            if done:
                return result.result()
            if not self.loop.is_running():
                if not started:
                    coroutine.close()
                raise ConnectionLost("the server stopped")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _copy(task: asyncio.Task[_T], result: concurrent.futures.Future[_T]) -> None:
    _tasks.discard(task)
    if task.cancelled():
        result.set_exception(ConnectionLost("the server stopped"))
    elif (error := task.exception()) is not None:
        result.set_exception(error)
    else:
        result.set_result(task.result())
