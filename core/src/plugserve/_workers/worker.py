"""The worker side of `--workers N`: what a forked worker inherits, how it serves the
inherited sockets, and the load board the workers share (the design: start.py)."""

from __future__ import annotations

import asyncio
import contextlib
import mmap
import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NoReturn

from .._log import tag_error_log_with_pid
from .._run import serve_sockets, stop
from ..endpoints import Endpoint
from ..error import UsageError

if TYPE_CHECKING:
    from .._plugins import Hooks
    from .._run import Served
    from ..config import Config

__all__ = [
    "WORKER_GRACE_S",
    "Bound",
    "LoadBoard",
    "WorkerContext",
    "current_context",
    "serve_in_worker",
    "usage_error",
    "worker_process",
]

#: How long a stopping worker keeps serving the connections it has just accepted (Server.close).
WORKER_GRACE_S: Final = 0.25

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


def current_context() -> WorkerContext | None:
    """What this process inherited as a worker; None in a supervisor or a single process."""
    return _context


def usage_error(message: str) -> int:
    """Say what is wrong with the command line or the sockets; return exit status 2."""
    print(f"plugserve: error: {message}", file=sys.stderr, flush=True)
    return 2


def serve_in_worker(
    site_or_root: Served, config: Config, hooks: Hooks | None, context: WorkerContext
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
        return usage_error(str(exc))
    return 0


def worker_process(
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
