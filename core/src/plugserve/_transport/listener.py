"""Listening sockets, the registry of open connections, timeouts and graceful shutdown.

`Server` owns what one run shares: the Site, the configuration, the hooks and the set of open
channels.  One sweeper task enforces every channel's deadline (see channel.py), and `close()`
stops accepting, lets requests in flight finish within `shutdown_timeout_s`, then aborts the rest.
Connections taken over (tunnel.py) stay in the registry: they count towards `max_connections`,
and at shutdown they run until the timeout ends, then are aborted with the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .._loop_cleanup import run_server_close
from ..endpoints import ACCEPT_BURST, Endpoint, bind_sockets, listen_on, parse_endpoint
from ..http_headers import canonical_name
from .channel import HTTPChannel

if TYPE_CHECKING:
    from .._plugins import Hooks
    from .._request import Request
    from ..config import Config
    from .routing import Routing
    from .sending import SendWatch

__all__ = ["ChannelFactory", "Connection", "Server", "ServerState"]

_log = logging.getLogger("plugserve")


class Connection(Protocol):
    """What the registry asks of an open connection: an HTTPChannel, or the Tunnel that took
    its place after a takeover (tunnel.py)."""

    deadline: float
    send_watch: SendWatch

    def timed_out(self) -> None: ...
    def send_timed_out(self) -> None: ...
    def close_when_idle(self) -> None: ...
    def abort(self) -> None: ...


class ChannelFactory(Protocol):
    """Twisted's protocol factory, as `plugserve.http.HTTPFactory` is one."""

    def buildProtocol(self, addr: Any) -> HTTPChannel: ...


class ServerState:
    """What every connection of one run shares."""

    def __init__(self, site: Routing, config: Config, hooks: Hooks | None) -> None:
        self.site = site
        self.config = config
        self.limits = config.limits
        self.loop = asyncio.get_running_loop()
        #: Every open connection: HTTP channels and tunnels (--max-connections counts both).
        self.connections: set[Connection] = set()
        self.closing = False
        #: The tasks that took a connection over, until they end (see tunnel.start_tunnel).
        self.tunnel_tasks: set[asyncio.Task[Any]] = set()
        self.child_hook = hooks.get_child if hooks is not None else None
        finished = hooks.request_finished if hooks is not None else None
        #: None when no plugin implements the hook (the channel then skips the call).
        self.request_finished: Callable[[Request], Any] | None = (
            None if finished is None else (lambda request: finished(request=request))
        )
        self.error_headers = [(canonical_name(n), v) for n, v in site.extraHeaders]


class Server:
    """A running server: its bound addresses, and `close()` for a graceful stop."""

    def __init__(
        self, site: Routing, config: Config, hooks: Hooks | None = None,
        factory: ChannelFactory | None = None,
    ) -> None:
        self.site = site
        #: Builds each connection's channel (Twisted's `buildProtocol`), when the object served
        #: is a factory with its own; else the listener makes an HTTPChannel for the Site.
        self.factory = factory
        self.config = config
        self.hooks = hooks
        self.addresses: list[str] = []
        self._servers: list[asyncio.AbstractServer] = []
        self._state: ServerState | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    @property
    def connections(self) -> set[Connection]:
        """The open connections (tunnels included)."""
        return self._state.connections if self._state is not None else set()

    async def start(self, endpoints: Sequence[str]) -> None:
        """Bind every endpoint (all or none) and start serving."""
        parsed = [parse_endpoint(text) for text in endpoints]
        bound: list[tuple[Endpoint, list[socket.socket]]] = []
        try:
            for endpoint in parsed:
                bound.append((endpoint, bind_sockets(endpoint)))
            await self._serve(bound, None, alone=True)
        except BaseException:
            for _, sockets in bound:
                for sock in sockets:
                    sock.close()
            raise

    async def start_on(
        self,
        bound: Sequence[tuple[Endpoint, Sequence[socket.socket]]],
        load_gate: Callable[[int], bool] | None = None,
    ) -> None:
        """Serve sockets that are already bound and listening (a worker serves those its
        supervisor made with `bind_sockets`), with their endpoints' settings (TLS, backlog).

        `load_gate(open connections)` says whether to accept a waiting connection now (see
        endpoints.listen_on): the workers use it to spread connections evenly."""
        await self._serve(bound, load_gate, alone=False)

    async def _serve(
        self,
        bound: Sequence[tuple[Endpoint, Sequence[socket.socket]]],
        load_gate: Callable[[int], bool] | None,
        *,
        alone: bool,
    ) -> None:
        """Serve `bound`.  A process `alone` on its sockets takes up to the backlog's worth of
        connections per wake-up, as asyncio's own server does; a worker takes a few, so that
        the others get theirs (endpoints.ACCEPT_BURST)."""
        state = self._state = ServerState(self.site, self.config, self.hooks)
        gate = None if load_gate is None else (lambda: load_gate(len(state.connections)))
        try:
            for endpoint, sockets in bound:
                burst = endpoint.backlog if alone else ACCEPT_BURST
                servers, urls = await listen_on(endpoint, sockets, self._channels(state),
                                                accept_burst=burst, gate=gate)
                self._servers.extend(servers)
                self.addresses.extend(urls)
        except BaseException:
            for server in self._servers:
                server.close()
            raise
        self._sweeper = state.loop.create_task(self._sweep(state))

    def _channels(self, state: ServerState) -> Callable[[], HTTPChannel]:
        """What makes each connection's channel: the factory's `buildProtocol` (asyncio makes
        the protocol before it reports the peer, so `addr` is None: the peer is the channel's
        `peer`), else an HTTPChannel of the Site."""
        factory = self.factory
        if factory is None:
            return lambda: HTTPChannel(state)
        build = factory.buildProtocol
        return lambda: build(None).attach(state)

    @property
    def port(self) -> int:
        """The port of the first TCP address (handy with tcp:0)."""
        for address in self.addresses:
            tail = address.rsplit(":", 1)[-1]
            if tail.isdigit():
                return int(tail)
        raise ValueError("no TCP address")

    async def _sweep(self, state: ServerState) -> None:
        config = state.config
        interval = min(config.header_timeout_s, config.body_timeout_s, config.keepalive_timeout_s,
                       config.send_timeout_s, config.linger_timeout_s,
                       config.min_body_rate_grace_s, config.tunnel_idle_timeout_s)
        interval = max(0.05, min(1.0, interval / 4))
        while True:
            await asyncio.sleep(interval)
            now = state.loop.time()
            for channel in list(state.connections):
                deadline = channel.deadline
                watch = channel.send_watch
                try:
                    if watch.deadline and now >= watch.deadline and watch.stalled(now):
                        channel.send_timed_out()
                    elif deadline and now >= deadline:
                        channel.timed_out()
                except Exception:  # noqa: BLE001 - the sweeper must survive any channel
                    _log.exception("error while timing out a connection")

    async def close(self, timeout: float | None = None, *, grace_s: float = 0.0) -> None:
        """Stop accepting, let requests in flight finish (up to the deadline), then close.

        `grace_s` (a worker's, while other workers keep serving the same sockets): after the
        listeners close, connections already accepted keep being served normally this long
        before the shutdown starts, so that one accepted an instant before is not refused (503)
        or closed before its first request arrives; a new worker would have served it."""
        if self._closed.is_set():
            return
        timeout = self.config.shutdown_timeout_s if timeout is None else timeout
        for server in self._servers:
            server.close()
        if grace_s > 0:
            await asyncio.sleep(grace_s)
        state = self._state
        if state is not None:
            state.closing = True
            for channel in list(state.connections):
                channel.close_when_idle()
            loop = state.loop
            deadline = loop.time() + timeout
            while state.connections and loop.time() < deadline:
                await asyncio.sleep(0.05)
            for channel in list(state.connections):
                channel.abort()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        await run_server_close(asyncio.get_running_loop())
        self._closed.set()

    async def wait_closed(self) -> None:
        """Wait until close() has completed."""
        await self._closed.wait()
