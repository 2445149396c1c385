"""The supervisor of `--workers N`: forks the workers, replaces a crashed one, reloads them on
SIGHUP and stops them gracefully (the design: start.py)."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from .._protocol.engines import engine_name
from ..endpoints import socket_urls
from .worker import WORKER_GRACE_S, Bound, LoadBoard, WorkerContext, worker_process

if TYPE_CHECKING:
    from ..config import Config

__all__ = ["Supervisor"]

_log = logging.getLogger("plugserve")

#: Unexpected worker exits within CRASH_WINDOW_S seconds after which the supervisor gives up.
CRASH_LIMIT: Final = 5
CRASH_WINDOW_S: Final = 10.0
#: Past --shutdown-timeout (and the grace), a stopping worker is killed after this margin.
KILL_MARGIN_S: Final = 5.0
#: A reload whose new workers are not all ready after this long is abandoned.
RELOAD_TIMEOUT_S: Final = 60.0
_TICK_S: Final = 0.05
_SIGNALS: Final = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD})


@dataclass
class Worker:
    """A forked worker as the supervisor sees it."""

    pid: int
    generation: int
    slot: int | None = None
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    #: When the supervisor sent SIGTERM (its exit is then expected) and when it sends SIGKILL.
    kill_at: float | None = None


@dataclass
class _Restart:
    at: float
    generation: int


@dataclass
class Supervisor:
    """Forks, watches, replaces and stops the workers; `run()` returns the exit status."""

    config: Config
    bound: Bound
    worker_main: Callable[[], object]
    workers: dict[int, Worker] = field(default_factory=dict)
    generation: int = 1
    #: The generation being started by a reload, if one is under way.
    reloading: int | None = None
    reload_again: bool = False
    announced: bool = False
    stopping: bool = False
    status: int = 0
    crashes: deque[float] = field(default_factory=deque)
    restarts: list[_Restart] = field(default_factory=list)
    #: Set by run(): the write end of the ready pipe and the read end of the lifeline (both
    #: given to the workers), the fds a worker closes, and the signal mask a worker restores.
    _ready_w: int = -1
    _lifeline_r: int = -1
    _child_closes: tuple[int, ...] = ()
    _mask: Iterable[int] = ()
    _board: LoadBoard = field(init=False)

    def __post_init__(self) -> None:
        # Slots for old and new workers, which overlap during reloads (draining ones linger).
        self._board = LoadBoard(4 * self.config.workers)

    def run(self) -> int:
        """Start the workers and supervise them until they have all stopped."""
        mask = self._mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        ready_r, self._ready_w = os.pipe()
        self._lifeline_r, lifeline_w = os.pipe()
        self._child_closes = (ready_r, lifeline_w)
        os.set_blocking(ready_r, False)
        pending = b""
        try:
            for _ in range(self.config.workers):
                self._spawn(self.generation)
            while self.workers or not self.stopping:
                readable, _, _ = select.select([ready_r], [], [], _TICK_S)
                if readable:
                    pending = self._read_ready(ready_r, pending)
                self._handle_signals()
                self._reap()
                self._tick(time.monotonic())
        finally:
            for fd in (ready_r, self._ready_w, self._lifeline_r, lifeline_w):
                os.close(fd)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return self.status

    # -- events --------------------------------------------------------------------------------

    def _read_ready(self, fd: int, pending: bytes) -> bytes:
        with contextlib.suppress(BlockingIOError):
            pending += os.read(fd, 4096)
        *lines, pending = pending.split(b"\n")
        for line in lines:
            worker = self.workers.get(int(line))
            if worker is not None:
                worker.ready = True
        return pending

    def _handle_signals(self) -> None:
        while (info := signal.sigtimedwait(_SIGNALS, 0)) is not None:
            if info.si_signo in (signal.SIGTERM, signal.SIGINT):
                self._stop_all(0, "plugserve: shutting down")
            elif info.si_signo == signal.SIGHUP:
                self._reload()

    def _reap(self) -> None:
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.workers.pop(pid, None)
            if worker is not None:
                if worker.slot is not None:
                    self._board.post(worker.slot, LoadBoard.FREE)
                self._exited(worker, os.waitstatus_to_exitcode(wait_status))

    def _exited(self, worker: Worker, code: int) -> None:
        how = _describe(code)
        if worker.kill_at is not None or self.stopping:
            if worker.ready and code not in (0, -signal.SIGTERM):
                _log.warning("worker %d %s while stopping", worker.pid, how)
            return
        if not worker.ready and worker.generation == self.reloading:
            _log.error("reload failed: new worker %d %s while starting; the running workers "
                       "keep serving", worker.pid, how)
            self._retire(lambda w: w.generation == self.reloading)
            self.reloading = None
            return
        if not worker.ready and not self.announced:
            _log.error("worker %d %s while starting", worker.pid, how)
            self._stop_all(2 if code == 2 else 1, None)
            return
        now = time.monotonic()
        self.crashes.append(now)
        while self.crashes and self.crashes[0] < now - CRASH_WINDOW_S:
            self.crashes.popleft()
        if len(self.crashes) >= CRASH_LIMIT:
            _log.error("worker %d %s; %d workers exited within %g s: giving up",
                       worker.pid, how, len(self.crashes), CRASH_WINDOW_S)
            self._stop_all(1, None)
            return
        # The first replacement starts at once, the next ones after 0.1 s, 0.2 s, 0.4 s...
        delay = 0.0 if len(self.crashes) == 1 else 0.1 * 2 ** (len(self.crashes) - 2)
        _log.warning("worker %d %s; starting a new one%s", worker.pid, how,
                     f" in {delay:g} s" if delay else "")
        self.restarts.append(_Restart(now + delay, worker.generation))

    def _tick(self, now: float) -> None:
        if not self.stopping:
            due = [r for r in self.restarts if r.at <= now]
            self.restarts = [r for r in self.restarts if r.at > now]
            for restart in due:
                if restart.generation in (self.generation, self.reloading):
                    self._spawn(restart.generation)
        if not self.announced and not self.stopping and self._all_ready(self.generation):
            self._announce()
        if self.reloading is not None and self._all_ready(self.reloading):
            self._finish_reload(self.reloading)
        elif self.reloading is not None and self._late(self.reloading, now):
            _log.error("reload failed: the new workers were not ready after %g s; the running "
                       "workers keep serving", RELOAD_TIMEOUT_S)
            self._retire(lambda w: w.generation == self.reloading)
            self.reloading = None
        for worker in self.workers.values():
            if worker.kill_at is not None and now >= worker.kill_at:
                _log.warning("worker %d did not stop in time: killing it", worker.pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
                worker.kill_at = float("inf")

    # -- actions -------------------------------------------------------------------------------

    def _spawn(self, generation: int) -> None:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        free = self._board.free() - {w.slot for w in self.workers.values()}
        slot = min(free) if free else None
        if slot is not None:
            self._board.post(slot, LoadBoard.IDLE)  # until the worker posts its load
        context = WorkerContext(self.bound, self._ready_w, self._lifeline_r, self._board, slot)
        pid = os.fork()
        if pid == 0:
            worker_process(self.worker_main, context, self._child_closes, self._mask)
        self.workers[pid] = Worker(pid, generation, slot)

    def _all_ready(self, generation: int) -> bool:
        ready = [w for w in self.workers.values()
                 if w.generation == generation and w.ready and w.kill_at is None]
        return len(ready) >= self.config.workers

    def _late(self, generation: int, now: float) -> bool:
        return any(w.generation == generation and not w.ready and w.kill_at is None
                   and now - w.started > RELOAD_TIMEOUT_S for w in self.workers.values())

    def _announce(self) -> None:
        self.announced = True
        print(f"plugserve: HTTP engine: {engine_name(self.config.http_engine)}")
        for endpoint, sockets in self.bound:
            for url in socket_urls(endpoint, sockets):
                print(f"plugserve: listening on {url}")
        sys.stdout.flush()
        _log.info("%d workers serving: %s", self.config.workers, self._pids(self.generation))

    def _reload(self) -> None:
        if self.stopping:
            return
        if self.reloading is not None:
            self.reload_again = True
            return
        self.reloading = self.generation + 1
        _log.info("SIGHUP: starting %d new workers", self.config.workers)
        for _ in range(self.config.workers):
            self._spawn(self.reloading)

    def _finish_reload(self, generation: int) -> None:
        old = self._pids(self.generation)
        self._retire(lambda w: w.generation != generation)
        self.generation, self.reloading = generation, None
        self.restarts = [r for r in self.restarts if r.generation == generation]
        _log.info("reloaded: workers %s replace %s", self._pids(generation), old or "none")
        if self.reload_again:
            self.reload_again = False
            self._reload()

    def _stop_all(self, status: int, message: str | None) -> None:
        if self.stopping:
            return
        if message:
            print(message, file=sys.stderr, flush=True)
        self.stopping, self.status = True, status
        self.restarts.clear()
        self._retire(lambda w: True)

    def _retire(self, which: Callable[[Worker], bool]) -> None:
        """Gracefully stop the workers `which` selects (they finish their requests)."""
        deadline = (time.monotonic() + self.config.shutdown_timeout_s + WORKER_GRACE_S
                    + KILL_MARGIN_S)
        for worker in self.workers.values():
            if worker.kill_at is None and which(worker):
                worker.kill_at = deadline
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)

    def _pids(self, generation: int) -> str:
        return ", ".join(str(w.pid) for w in self.workers.values()
                         if w.generation == generation and w.kill_at is None)


def _describe(code: int) -> str:
    """`exited with status 3` or `was killed by signal 9 (SIGKILL)`."""
    if code >= 0:
        return f"exited with status {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = "?"
    return f"was killed by signal {-code} ({name})"
