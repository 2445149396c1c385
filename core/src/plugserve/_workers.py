# Theory of operation
#
# `--workers N` (N > 1) turns the `plugserve` process into a supervisor.  It binds every endpoint
# once (endpoints.bind_sockets: `tcp:0` gets one port, a UNIX socket one file), then forks N
# workers.  A worker inherits the listening sockets and runs the command's own entry point again
# (`main(argv)`, or the script's `run(...)`), so the configuration file, the plugins' roots, their
# thread pools and the access log file are made in the worker, after the fork: nothing with a
# thread or a loop crosses a fork.  When that entry point reaches the point where it would bind
# and serve, it finds the worker context set below and serves the inherited sockets instead
# (`serve_workers`), and tells the supervisor it is ready by writing its pid on a pipe.
#
# Every worker accepts from the same kernel queue, so a connection waits there until some worker
# takes it: a worker that stops (crash, reload) takes no queued connection with it, and no
# connection is refused while at least one worker runs.  Every worker wakes for each connection
# and the first awake takes it, which would favour one of them; so each worker posts its number of
# open connections on a LoadBoard (shared memory) and leaves a connection, for a moment, to a
# worker that has fewer (least connections; see endpoints.listen_on).
#
# The supervisor is a plain loop over blocked signals (sigtimedwait) and the ready pipe, with no
# event loop and no threads, so that forking from it is safe:
#
#   SIGCHLD   a worker exited: expected (we stopped it) or a crash, which is logged and replaced,
#             with a growing delay, giving up (exit 1) after CRASH_LIMIT crashes in CRASH_WINDOW_S
#   SIGHUP    reload: N new workers start (re-reading the configuration file), and once all of
#             them are ready the old ones are stopped gracefully; if one fails to start, the
#             new ones are stopped and the old ones keep serving
#   SIGTERM,  graceful stop: every worker gets SIGTERM, finishes its requests in flight (within
#   SIGINT    --shutdown-timeout, SIGKILL after that and a margin), then the supervisor exits 0
#
# A worker ignores SIGINT and SIGHUP (the supervisor decides), stops gracefully on SIGTERM, and
# also when the supervisor dies: it holds the read end of a "lifeline" pipe whose only write end
# is the supervisor's, and EOF on it means the supervisor is gone.
from __future__ import annotations

import asyncio
import contextlib
import logging
import mmap
import os
import select
import signal
import socket
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, NoReturn

from ._engines import engine_name
from ._log import configure_error_log, tag_error_log_with_pid
from ._run import serve_sockets, stop
from .endpoints import Endpoint, bind_sockets, parse_endpoint, socket_urls
from .error import UsageError

if TYPE_CHECKING:
    from ._plugins import Hooks
    from .config import Config
    from .resource import IResource
    from .server import Site

__all__ = ["LoadBoard", "WorkerContext", "serve_workers"]

_log = logging.getLogger("plugserve")

#: Unexpected worker exits within CRASH_WINDOW_S seconds after which the supervisor gives up.
CRASH_LIMIT: Final = 5
CRASH_WINDOW_S: Final = 10.0
#: How long a stopping worker keeps serving the connections it has just accepted (Server.close).
WORKER_GRACE_S: Final = 0.25
#: Past --shutdown-timeout (and the grace), a stopping worker is killed after this margin.
KILL_MARGIN_S: Final = 5.0
#: A reload whose new workers are not all ready after this long is abandoned.
RELOAD_TIMEOUT_S: Final = 60.0
_TICK_S: Final = 0.05
_SIGNALS: Final = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD})

Bound = Sequence[tuple[Endpoint, Sequence[socket.socket]]]


class LoadBoard:
    """The number of open connections of each worker, in memory shared by the supervisor and
    its workers: one int32 slot per worker, FREE when no worker has it, IDLE while its worker
    does not accept (starting, or stopping)."""

    FREE: Final = -2
    IDLE: Final = -1

    def __init__(self, slots: int) -> None:
        self._memory = mmap.mmap(-1, 4 * slots)  # anonymous and MAP_SHARED: forks see writes
        self._slots = memoryview(self._memory).cast("i")
        for slot in range(slots):
            self._slots[slot] = self.FREE

    def post(self, slot: int, load: int) -> None:
        """Set the slot's load, or FREE or IDLE."""
        self._slots[slot] = load

    def free(self) -> set[int]:
        """The slots no worker has."""
        return {slot for slot, load in enumerate(self._slots) if load == self.FREE}

    def accept_gate(self, slot: int) -> Callable[[int], bool]:
        """For the worker in `slot`: post its load, and say whether it should accept now,
        which it should unless another worker has fewer connections."""
        slots = self._slots

        def gate(load: int) -> bool:
            slots[slot] = load
            return all(other < 0 or other >= load
                       for index, other in enumerate(slots) if index != slot)

        return gate


@dataclass(frozen=True)
class WorkerContext:
    """What a forked worker inherits: the sockets to serve, the pipe on which it says it is
    ready, the read end of the supervisor's lifeline, and its slot on the load board (None if
    there was no free slot: it then accepts whenever it can)."""

    bound: Bound
    ready_fd: int
    lifeline_fd: int
    board: LoadBoard
    slot: int | None


#: Set in a worker process only, right after the fork.
_context: WorkerContext | None = None


def serve_workers(
    site_or_root: Site | IResource,
    config: Config,
    hooks: Hooks | None,
    worker_main: Callable[[], object],
) -> int:
    """Serve with `config.workers` processes; return the exit status.

    In the supervisor (the first call), bind the sockets and fork workers that each call
    `worker_main()`, the command's entry point, which builds the site again and comes back
    here; in a worker, serve `site_or_root` on the inherited sockets until told to stop."""
    context = _context
    if context is not None:
        return _serve_in_worker(site_or_root, config, hooks, context)
    configure_error_log()
    if config.pidfile:  # as a single process does: before binding, removed in any case
        with open(config.pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
    bound: list[tuple[Endpoint, list[socket.socket]]] = []
    try:
        try:
            for endpoint in map(parse_endpoint, config.listen):
                bound.append((endpoint, bind_sockets(endpoint)))
        except UsageError as exc:
            return _usage_error(str(exc))
        except OSError as exc:
            return _usage_error(f"cannot listen: {exc}")
        return Supervisor(config, bound, worker_main).run()
    finally:
        for _, sockets in bound:
            for sock in sockets:
                sock.close()
        if hooks is not None:  # the supervisor's own build (it checked the command line)
            asyncio.run(hooks.unconfigure(config))
        if config.pidfile:
            with contextlib.suppress(OSError):
                os.unlink(config.pidfile)


def _usage_error(message: str) -> int:
    print(f"plugserve: error: {message}", file=sys.stderr, flush=True)
    return 2


# -- the worker side -------------------------------------------------------------------------------


def _serve_in_worker(
    site_or_root: Site | IResource, config: Config, hooks: Hooks | None, context: WorkerContext
) -> int:
    slot = context.slot
    gate = None if slot is None else context.board.accept_gate(slot)

    async def work() -> None:
        server = await serve_sockets(site_or_root, context.bound, config=config, hooks=hooks,
                                     load_gate=gate)
        os.write(context.ready_fd, b"%d\n" % os.getpid())
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stopping.set)
        loop.add_reader(context.lifeline_fd, stopping.set)  # EOF: the supervisor is gone
        await stopping.wait()
        loop.remove_reader(context.lifeline_fd)
        if slot is not None:
            context.board.post(slot, LoadBoard.IDLE)  # the others stop leaving it connections
        await stop(server, grace_s=WORKER_GRACE_S)

    try:
        asyncio.run(work())
    except UsageError as exc:
        return _usage_error(str(exc))
    return 0


def _worker_process(
    worker_main: Callable[[], object], context: WorkerContext, close_fds: Sequence[int],
    mask: Iterable[int],
) -> NoReturn:
    """The life of a forked worker: reset what it inherited, run the entry point, exit."""
    global _context
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for fd in close_fds:
            os.close(fd)
        _context = context
        tag_error_log_with_pid()
        result = worker_main()
        status = result if isinstance(result, int) else 0
    except SystemExit as exc:
        status = _exit_status(exc)
    except BaseException:  # noqa: BLE001 - a worker reports anything before it exits
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(status)


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=sys.stderr)
    return 1


# -- the supervisor --------------------------------------------------------------------------------


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
            _worker_process(self.worker_main, context, self._child_closes, self._mask)
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

