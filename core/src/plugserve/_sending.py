"""The send timeout of one connection, and files sent with `loop.sendfile` in pieces.

A client that asks for a response and never reads it would hold its connection, and whatever
produces the response (a WSGI thread waiting to write), for ever.  SendWatch closes it after
`--send-timeout` seconds without progress, as nginx's `send_timeout` does.  Progress is bytes
leaving the transport's buffer: the channel counts what it writes, and the transport says how
much of that it still holds.  A file sent with `loop.sendfile` never passes through that buffer,
and asyncio says nothing until a sendfile call is over, so files go out in pieces of
SENDFILE_PIECE_BYTES, each one progress: a client must read at least a piece per send timeout
(128 KiB a minute by default, about 2 KB/s).  The piece being sent can be cancelled, which is how
a stuck download is cut (at the send timeout, or at shutdown) without asyncio complaining about
a transport aborted in the middle of its sendfile.
"""

from __future__ import annotations

import asyncio
from typing import IO, Final

__all__ = ["SENDFILE_PIECE_BYTES", "SendWatch", "send_pieces"]

#: The bytes of one loop.sendfile call: large enough that a fast download costs a few calls per
#: megabyte, small enough that a slow reader shows progress within the send timeout.
SENDFILE_PIECE_BYTES: Final = 128 * 1024


class SendWatch:
    """Whether a connection still makes progress in sending (see the module comment)."""

    __slots__ = ("_mark", "_timeout", "_transport", "deadline", "sendfile", "written")

    def __init__(self, transport: asyncio.WriteTransport, timeout_s: float) -> None:
        self._transport = transport
        self._timeout = timeout_s
        self._mark = 0
        #: When to check for progress (0: nothing is waiting to be sent).
        self.deadline = 0.0
        #: Bytes the channel has handed to the transport.
        self.written = 0
        #: The task of the loop.sendfile piece in flight, if any.
        self.sendfile: asyncio.Task[int] | None = None

    def _sent(self) -> int:
        return self.written - self._transport.get_write_buffer_size()

    def arm(self, now: float) -> None:
        """Bytes are waiting for the client: start watching, unless already watching."""
        if not self.deadline:
            self.restart(now)

    def restart(self, now: float) -> None:
        """Progress was made (or a sendfile piece starts): a full timeout from now."""
        self.deadline = now + self._timeout
        self._mark = self._sent()

    def disarm(self) -> None:
        """Nothing is waiting for the client any more."""
        self.deadline = 0.0

    def stalled(self, now: float) -> bool:
        """At the deadline: True when nothing was sent since the watch was (re)started; else
        the watch restarts."""
        if self._sent() > self._mark:
            self.restart(now)
            return False
        return True

    def cancel_sendfile(self) -> None:
        """Stop the sendfile piece in flight, before the transport is aborted.

        Only while asyncio is inside os.sendfile, that is with the transport's buffer empty:
        before that, loop.sendfile waits for the buffer to drain, and a cancel there leaves
        its drain waiter set, which the abort then sets again (InvalidStateError).  In that
        state the abort itself ends the sendfile, with a ConnectionError."""
        task = self.sendfile
        if task is not None and not self._transport.get_write_buffer_size():
            self.sendfile = None
            task.cancel()


async def send_pieces(
    watch: SendWatch, transport: asyncio.WriteTransport, file: IO[bytes], offset: int, count: int
) -> int:
    """Send `count` bytes of `file` from `offset` with loop.sendfile, a piece at a time; return
    the bytes sent (fewer when the file is shorter).  Raises asyncio.CancelledError when the
    watch cancelled a piece, and what loop.sendfile raises."""
    loop = asyncio.get_running_loop()
    sent = 0
    while sent < count:
        size = min(SENDFILE_PIECE_BYTES, count - sent)
        watch.restart(loop.time())
        task = watch.sendfile = loop.create_task(
            loop.sendfile(transport, file, offset + sent, size)
        )
        try:
            done = await task
        finally:
            if watch.sendfile is task:
                watch.sendfile = None
            watch.disarm()
        sent += done
        if done < size:
            break
    return sent
