"""Starting a script as a child process, with its pipes on the event loop, and ending it.

The child gets its own session (and so its own process group), no shell, no descriptor of the
server's but its three pipes, and the environment it is given.  `subprocess` starts it with
vfork+exec where the platform allows (CPython does so unless it is told not to; bench/cgi.py
measures fork, vfork and posix_spawn).  The exit is watched with a pidfd on the event loop (no
thread per child, as asyncio's child watcher of Python 3.11 has): when the script exits, its
process group is killed before it is reaped, so nothing it left running in the background
outlives it, and no zombie stays.  `kill()` does the same at any time (a timeout, a client that
left); the reaping then follows the exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence

__all__ = ["ScriptProcess", "spawn"]

STDOUT_LIMIT = 64 * 1024  # stdout waits unread past twice this: the pipe then fills, and the
# script blocks in write(), which is the back-pressure a client that does not read exerts.


class _Sink(asyncio.Protocol):
    """The script's stdin: writes with back-pressure (`drain`), a broken pipe as `closed`."""

    def __init__(self) -> None:
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def drain(self) -> None:
        """Wait while the pipe is full; returns at once once it is closed."""
        while self._paused and not self.closed:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter


class ScriptProcess:
    """A running script: `stdin` (transport and sink), `stdout`/`stderr` readers, `exited`."""

    def __init__(self, popen: subprocess.Popen[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.exited: asyncio.Future[int] = loop.create_future()
        self.stdout = asyncio.StreamReader(limit=STDOUT_LIMIT, loop=loop)
        self.stderr = asyncio.StreamReader(limit=STDOUT_LIMIT, loop=loop)
        self.stdin: asyncio.WriteTransport | None = None
        self.sink = _Sink()
        self._transports: list[asyncio.BaseTransport] = []
        self._pidfd: int | None = None
        self._waiting: asyncio.Future[None] | None = None

    async def _connect(self, loop: asyncio.AbstractEventLoop, fds: tuple[int, int, int]) -> None:
        stdin, stdout, stderr = fds
        # The transports own the files they are given (closing one closes its pipe).
        sink, _ = await loop.connect_write_pipe(
            lambda: self.sink, open(stdin, "wb", 0))  # noqa: SIM115
        self.stdin = sink
        self._transports.append(sink)
        for reader, fd in ((self.stdout, stdout), (self.stderr, stderr)):
            source, _ = await loop.connect_read_pipe(
                lambda r=reader: asyncio.StreamReaderProtocol(r, loop=loop),  # type: ignore[misc]
                open(fd, "rb", 0))  # noqa: SIM115
            self._transports.append(source)
        self._watch(loop)

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # not Linux 5.3+: a thread waits instead
            self._waiting = loop.run_in_executor(None, self._wait_blocking, loop)
            return
        loop.add_reader(self._pidfd, self._on_exit, loop)

    def _wait_blocking(self, loop: asyncio.AbstractEventLoop) -> None:
        code = self.popen.wait()
        loop.call_soon_threadsafe(self._set_exited, code)

    def _on_exit(self, loop: asyncio.AbstractEventLoop) -> None:
        assert self._pidfd is not None
        loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = None
        self._kill_group()  # the leader is a zombie still: its group id cannot be reused yet
        code = self.popen.wait()
        self._set_exited(code)

    def _set_exited(self, code: int) -> None:
        if not self.exited.done():
            self.exited.set_result(code)

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def kill(self) -> None:
        """Kill the script's whole process group now (it is reaped when it has exited)."""
        if not self.exited.done():
            self._kill_group()

    def close_stdin(self) -> None:
        """End of the body for the script."""
        if self.stdin is not None and not self.stdin.is_closing():
            self.stdin.close()

    def close(self) -> None:
        """Kill what still runs and close every pipe (the reaping follows the exit)."""
        self.kill()
        for transport in self._transports:
            transport.close()


async def spawn(argv: Sequence[bytes], env: Mapping[bytes, bytes], cwd: str) -> ScriptProcess:
    """Start `argv` (no shell) in `cwd` with exactly `env`, its stdio on three pipes.  Raises
    what exec raised: FileNotFoundError, PermissionError, OSError(ENOEXEC)."""
    loop = asyncio.get_running_loop()
    pipes = [os.pipe() for _ in range(3)]
    child = (pipes[0][0], pipes[1][1], pipes[2][1])
    ours = (pipes[0][1], pipes[1][0], pipes[2][0])
    try:
        popen = subprocess.Popen(list(argv), stdin=child[0], stdout=child[1], stderr=child[2],
                                 env=dict(env), cwd=cwd, close_fds=True,
                                 start_new_session=True)
    except BaseException:
        for fd in (*child, *ours):
            os.close(fd)
        raise
    for fd in child:
        os.close(fd)
    process = ScriptProcess(popen, loop)
    try:
        await process._connect(loop, ours)
    except BaseException:
        process.close()
        raise
    return process
