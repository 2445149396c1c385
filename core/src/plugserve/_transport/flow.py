"""Flow control of one connection in one small object: pause and resume of both directions,
safe to call twice, and a drain wait, so a slow client never makes the server buffer a whole
response (the shape of uvicorn's flow_control.py)."""

from __future__ import annotations

import asyncio

__all__ = ["FlowControl"]


class FlowControl:
    """Pause/resume of both directions of a transport, safe to call twice, with a drain wait."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self.read_paused = False
        self.write_paused = False
        self._drained: asyncio.Event | None = None

    def pause_reading(self) -> None:
        """Stop reading from the client (idempotent)."""
        if not self.read_paused:
            self.read_paused = True
            self._transport.pause_reading()  # type: ignore[attr-defined]

    def resume_reading(self) -> None:
        """Read from the client again (idempotent)."""
        if self.read_paused:
            self.read_paused = False
            self._transport.resume_reading()  # type: ignore[attr-defined]

    def pause_writing(self) -> None:
        """The transport's buffer is full."""
        self.write_paused = True

    def resume_writing(self) -> None:
        """The transport's buffer drained; wake whoever waits in drain()."""
        self.write_paused = False
        if self._drained is not None:
            self._drained.set()
            self._drained = None

    async def drain(self) -> None:
        """Wait until the client has read enough for writing to go on.

        A closing transport (the client reset the connection) buffers nothing and so never
        pauses: yield once then, as asyncio's StreamWriter.drain does, so that its
        connection_lost runs and a writer looping on write-then-drain learns it left instead
        of spinning for ever."""
        if self._transport.is_closing():
            await asyncio.sleep(0)
            return
        if self.write_paused:
            if self._drained is None:
                self._drained = asyncio.Event()
            await self._drained.wait()
