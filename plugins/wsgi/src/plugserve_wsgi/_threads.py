"""The threads WSGI applications run in: the default pool, its size, and Twisted's ThreadPool.

A WSGI application blocks (it reads its body, queries a database, renders templates), so every
call runs in a `concurrent.futures` executor and the event loop keeps serving other requests.
The default size is the one `ThreadPoolExecutor` picks, min(32, CPUs + 4): WSGI work mostly
waits on I/O, so a few more threads than cores keep the cores busy without thrashing.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Executor, ThreadPoolExecutor

__all__ = ["ThreadPool", "default_executor", "default_threads"]

_lock = threading.Lock()
_default: ThreadPoolExecutor | None = None


def default_threads() -> int:
    """The number of threads of a default pool: min(32, CPUs + 4)."""
    return min(32, (os.cpu_count() or 1) + 4)


def default_executor() -> Executor:
    """The pool shared by every WSGIResource given no executor, created on first use."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = ThreadPoolExecutor(default_threads(),
                                              thread_name_prefix="plugserve-wsgi")
    return _default


class ThreadPool(ThreadPoolExecutor):
    """Twisted's `twisted.python.threadpool.ThreadPool(minthreads, maxthreads, name)` as an
    executor, so a ported configuration keeps its `ThreadPool()`, `start()` and `stop()` lines.

    Threads are started on demand, up to `maxthreads`; `minthreads` is kept for the API only.
    Work submitted before `start()` runs at once (Twisted queued it until start)."""

    def __init__(self, minthreads: int = 5, maxthreads: int = 20, name: str | None = None) -> None:
        if minthreads < 0 or maxthreads < 1 or minthreads > maxthreads:
            raise ValueError(f"ThreadPool({minthreads}, {maxthreads}): "
                             "need 0 <= minthreads <= maxthreads and maxthreads >= 1")
        super().__init__(maxthreads, thread_name_prefix=name or "ThreadPool")
        self.min = minthreads
        self.max = maxthreads
        self.name = name
        self.started = False

    def start(self) -> None:
        """Mark the pool started (threads start as work arrives)."""
        self.started = True

    def stop(self) -> None:
        """Wait for the work in progress, then end the threads; nothing can be submitted after."""
        self.started = False
        self.shutdown(wait=True)
