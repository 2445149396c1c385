"""The send timeout of one connection, and files sent with `loop.sendfile` in pieces.

A client that asks for a response and never reads it would hold its connection, and whatever
produces the response (a WSGI thread waiting to write), for ever.  SendWatch closes it after
`--send-timeout` seconds without progress, as nginx's `send_timeout` does.  Progress is the
transport's buffer shrinking: the watch runs while that buffer is over its high-water mark (a
producer that honours back-pressure adds nothing meanwhile) or while the connection closes with
bytes still buffered.  A file sent with `loop.sendfile` never passes through that buffer, and
asyncio says nothing until a sendfile call is over, so files go out in pieces, each one progress.
The first pieces are MIN_PIECE_BYTES: a client must read at least that much per send timeout
(128 KiB a minute by default, about 2 KB/s).  Pieces grow with the rate the client has shown,
counting only what it read beyond what socket buffers could have absorbed (BUFFERED_BYTES), up
to an eighth of the send timeout's worth at that rate, so a fast download costs a few sendfile
calls, and a client that slows down eightfold still shows progress in time.  The piece being sent
can be cancelled, which is how a stuck download is cut (at the send timeout, or at shutdown)
without asyncio complaining about a transport aborted in the middle of its sendfile.
"""

from __future__ import annotations

import asyncio
from typing import IO, Final

__all__ = ["BUFFERED_BYTES", "MAX_PIECE_BYTES", "MIN_PIECE_BYTES", "SendWatch", "send_pieces"]

#: The bytes of one loop.sendfile call: at first, and for a slow reader.
MIN_PIECE_BYTES: Final = 128 * 1024
#: ... and at most (a fast reader: a 100 MiB file in about a dozen calls).
MAX_PIECE_BYTES: Final = 16 * 1024 * 1024
#: What the two sockets' buffers may hold without the client reading (Linux autotunes a send
#: buffer up to 4 MiB, and a receive buffer up to 6 MiB): not counted as the client's rate.
BUFFERED_BYTES: Final = 10 * 1024 * 1024


class SendWatch:
    """Whether a connection still makes progress in sending (see the module comment)."""

    __slots__ = ("_mark", "_timeout", "_transport", "deadline", "sendfile")

    def __init__(self, transport: asyncio.WriteTransport, timeout_s: float) -> None:
        self._transport = transport
        self._timeout = timeout_s
        self._mark = 0
        #: When to check for progress (0: nothing is waiting to be sent).
        self.deadline = 0.0
        #: The task of the loop.sendfile piece in flight, if any.
        self.sendfile: asyncio.Task[int] | None = None

    @property
    def timeout_s(self) -> float:
        """The send timeout."""
        return self._timeout

    def arm(self, now: float) -> None:
        """Bytes are waiting for the client: start watching, unless already watching."""
        if not self.deadline:
            self.restart(now)

    def restart(self, now: float) -> None:
        """Progress was made (or a sendfile piece starts): a full timeout from now."""
        self.deadline = now + self._timeout
        self._mark = self._transport.get_write_buffer_size()

    def disarm(self) -> None:
        """Nothing is waiting for the client any more."""
        self.deadline = 0.0

    def stalled(self, now: float) -> bool:
        """At the deadline: True when nothing was sent since the watch was (re)started; else
        the watch restarts."""
        if self._transport.get_write_buffer_size() < self._mark:
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
    piece = MIN_PIECE_BYTES
    started = loop.time()
    while sent < count:
        size = min(piece, count - sent)
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
        elapsed = loop.time() - started
        if sent > BUFFERED_BYTES and elapsed > 0:
            rate = (sent - BUFFERED_BYTES) / elapsed  # what the client has surely read
            piece = int(min(MAX_PIECE_BYTES, max(MIN_PIECE_BYTES, rate * watch.timeout_s / 8)))
    return sent
