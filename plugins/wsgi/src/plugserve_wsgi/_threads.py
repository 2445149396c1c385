"""The threads WSGI applications run in: the default pool, its size, and Twisted's ThreadPool.

A WSGI application blocks (it reads its body, queries a database, renders templates), so every
call runs in a `concurrent.futures` executor and the event loop keeps serving other requests.
The default size is the one `ThreadPoolExecutor` picks, min(32, CPUs + 4): WSGI work mostly
waits on I/O, so a few more threads than cores keep the cores busy without thrashing.

The pools made here are WorkerPools: a WSGI call reports its own end to the loop, so it needs
no Future, and ThreadPoolExecutor's per-call Future, work item and idle-semaphore round trip
(Python-level locks on the event loop's thread) were a tenth of the loop's time per request.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

__all__ = ["ThreadPool", "WorkerPool", "default_executor", "default_threads"]

_P = ParamSpec("_P")
_T = TypeVar("_T")
_lock = threading.Lock()
_default: WorkerPool | None = None
#: What a WorkerPool's queue holds: a call and its Future (None for `dispatch`); None = exit.
_Item = tuple[Callable[[], object], "Future[Any] | None"] | None


class WorkerPool(Executor):
    """An executor of up to `max_workers` threads, started as work arrives and kept.

    `dispatch(fn)` runs `fn()` in a thread with no Future: `fn` reports its own end and its
    own errors (WSGIResponse.run answers 500 and logs); what it raises is dropped, as an
    unread Future's exception is, and the thread goes on.  `submit` is the
    Executor API.  The threads are daemons: a server stops them with `shutdown`, after its own
    graceful stop, and a call still stuck in an application does not keep the process alive."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "plugserve-wsgi") -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be 1 or more")
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # threads waiting on the queue that no queued call has claimed yet
        self._lock = threading.Lock()
        self._shutdown = False

    def dispatch(self, fn: Callable[[], object]) -> None:
        """Run `fn()` in one of the pool's threads."""
        self._put((fn, None))

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        """Run `fn(*args, **kwargs)` in one of the pool's threads; its Future."""
        future: Future[_T] = Future()
        self._put((lambda: fn(*args, **kwargs), future))
        return future

    def _put(self, item: _Item) -> None:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if self._idle:
                self._idle -= 1
            elif len(self._threads) < self._max_workers:
                thread = threading.Thread(target=self._work, daemon=True,
                                          name=f"{self._prefix}_{len(self._threads)}")
                self._threads.append(thread)
                thread.start()
            self._queue.put(item)

    def _work(self) -> None:
        get = self._queue.get
        while (item := get()) is not None:
            fn, future = item
            if future is None:
                with contextlib.suppress(BaseException):  # see dispatch
                    fn()
            elif future.set_running_or_notify_cancel():
                try:
                    result = fn()
                except BaseException as exc:  # noqa: BLE001 - handed to the Future's owner
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del item, fn, future
            with self._lock:
                self._idle += 1
        self._queue.put(None)  # wake the next thread: they all exit

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Accept no more work; let queued work run (or cancel it); with `wait`, join the
        threads."""
        with self._lock:
            if not self._shutdown:
                self._shutdown = True
                if cancel_futures:
                    self._cancel_queued()
                self._queue.put(None)
        if wait:
            for thread in list(self._threads):
                if thread is not threading.current_thread():
                    thread.join()

    def _cancel_queued(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None and item[1] is not None:
                item[1].cancel()


def default_threads() -> int:
    """The number of threads of a default pool: min(32, CPUs + 4)."""
    return min(32, (os.cpu_count() or 1) + 4)


def default_executor() -> Executor:
    """The pool shared by every WSGIResource given no executor, created on first use."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = WorkerPool(default_threads())
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
