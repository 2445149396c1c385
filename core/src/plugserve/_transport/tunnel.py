"""A connection taken over after a 2xx to CONNECT or a 101 (see plugserve._takeover).

The HTTPChannel lets go of the connection (the sans-I/O engine `detach`es and hands over the
bytes the client sent after its request head), and a `Tunnel` becomes the transport's protocol.
The Tunnel forwards every callback to the protocol of the resource that took over, its owner,
and takes the channel's place in the listener's registry, so the connection still counts towards
`--max-connections` and still ends at graceful shutdown; but none of the request timers apply to
it (header, body, keep-alive, send timeout).  It has one timer of its own, the idle timeout
(`--tunnel-idle-timeout`): no byte read from the client and none written to it for that long,
and the connection is closed.  Writes are seen through `TunnelTransport`, the transport the owner
gets, which wraps the connection's own.

At shutdown a tunnel is not cut at once: it has no HTTP boundary to stop at, and its owner may
be in the middle of a transfer.  It keeps relaying until `--shutdown-timeout` ends, then it is
aborted with the requests still in flight; either side may close it earlier.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .listener import Connection, ServerState
    from .sending import SendWatch

__all__ = ["Tunnel", "TunnelTransport", "start_tunnel"]

_log = logging.getLogger("plugserve")


class Tunnel(asyncio.Protocol):
    """The protocol of a connection taken over: forwards to its owner, keeps the idle deadline,
    and answers the listener's registry (deadline, send_watch, timed_out, close_when_idle,
    abort) as an HTTPChannel does."""

    owner: asyncio.Protocol

    def __init__(
        self, state: ServerState, transport: asyncio.Transport, send_watch: SendWatch,
        peer: Any,
    ) -> None:
        self.state = state
        self.transport = transport
        #: The channel's, disarmed: the send timeout does not apply to a tunnel (its idle
        #: timeout does), but the sweeper reads every connection's watch.
        self.send_watch = send_watch
        send_watch.disarm()
        self.peer = peer
        self._idle_s = state.config.tunnel_idle_timeout_s
        self.deadline = state.loop.time() + self._idle_s

    def touch(self) -> None:
        """Bytes moved: the idle timeout starts again."""
        self.deadline = self.state.loop.time() + self._idle_s

    # -- asyncio callbacks, forwarded ------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.deadline = self.state.loop.time() + self._idle_s
        self.owner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.owner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.connections.discard(self)
        self.owner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.owner.pause_writing()

    def resume_writing(self) -> None:
        self.owner.resume_writing()

    # -- the listener's registry -----------------------------------------------------------------

    def timed_out(self) -> None:
        """Called by the sweeper at the idle deadline."""
        host = getattr(self.peer, "host", self.peer)
        _log.info("closing the tunnel of %s: idle for %g s (--tunnel-idle-timeout)",
                  host, self._idle_s)
        self.abort()  # idle: nothing of value can be waiting in the buffers

    def send_timed_out(self) -> None:
        """Never armed for a tunnel (see send_watch); closes it if it ever is."""
        self.abort()

    def close_when_idle(self) -> None:
        """Graceful shutdown: a tunnel runs on until the shutdown timeout (module docstring)."""

    def abort(self) -> None:
        """Drop the connection at once (the shutdown timeout ended, or the idle timeout)."""
        self.transport.abort()


class TunnelTransport(asyncio.Transport):
    """The connection's transport as its new owner sees it: the same, except that writes
    restart the tunnel's idle timeout and set_protocol changes the owner, not the Tunnel."""

    def __init__(self, tunnel: Tunnel) -> None:
        super().__init__()
        self._tunnel = tunnel
        self._transport = tunnel.transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._tunnel.touch()
        self._transport.write(data)

    def writelines(self, list_of_data: Any) -> None:
        self._tunnel.touch()
        self._transport.writelines(list_of_data)

    def write_eof(self) -> None:
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self._transport.close()

    def abort(self) -> None:
        self._transport.abort()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._tunnel.owner = protocol  # type: ignore[assignment]

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._tunnel.owner

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)


def start_tunnel(
    state: ServerState,
    transport: asyncio.Transport,
    send_watch: SendWatch,
    peer: Any,
    *,
    write_paused: bool,
    replaces: Connection,
    protocol_factory: Callable[[], asyncio.Protocol],
) -> tuple[asyncio.Transport, Tunnel]:
    """Make a Tunnel the protocol of `transport`, in the registry instead of the channel
    `replaces`, with `protocol_factory()` as its owner (connection_made called, and told
    pause_writing if the transport's buffer is full); return the owner's transport."""
    tunnel = Tunnel(state, transport, send_watch, peer)
    # The task taking over (an async render relaying the bytes) is referenced by nothing the
    # loop holds: asyncio's stream protocols keep their readers only weakly, and the request
    # that held the task is over.  Kept here until it ends, or the GC could collect it live.
    task = asyncio.current_task()
    if task is not None:
        state.tunnel_tasks.add(task)
        task.add_done_callback(state.tunnel_tasks.discard)
    tunnel.owner = protocol_factory()
    state.connections.discard(replaces)
    state.connections.add(tunnel)
    transport.set_protocol(tunnel)
    transport.resume_reading()  # the channel may have paused it while the resource decided
    owned = TunnelTransport(tunnel)
    tunnel.owner.connection_made(owned)
    if write_paused:
        tunnel.owner.pause_writing()
    return owned, tunnel
