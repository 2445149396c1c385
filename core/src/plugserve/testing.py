"""Test helpers for plugserve and its plugins (a pytest plugin, entry point `pytest11`).

    def test_hello(plugserve_server):
        server = plugserve_server(Hello())          # a Site or a Resource, on tcp:0
        response = server.get("/")
        assert response.status == 200 and response.body == b"Hello"

The server runs in-process on its own event-loop thread and is reached over real TCP:
`request`/`get` use http.client, `raw` sends bytes as they are on a fresh socket (for malformed
input).  `RawClient.to(server)` keeps one raw connection open and reads responses strictly
(keep-alive, pipelining, framing checks), `parse_responses` splits what `raw` returned.
Keyword arguments are Config fields (`max_body_bytes=1024`, `header_timeout_s=0.5`).
"""

from __future__ import annotations

import asyncio
import fcntl
import http.client
import socket
import struct
import termios
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pytest

from ._factory import HTTPFactory
from ._plugins import Hooks
from ._run import Served, default_plugin_manager, is_factory, serve
from ._transport.listener import Server
from ._wire import RawClient, RawResponse, parse_responses, read_response
from .config import Config
from .server import Site

__all__ = [
    "Clock",
    "RawClient",
    "RawResponse",
    "Response",
    "TestServer",
    "eventually",
    "parse_responses",
    "plugin_hooks",
    "plugserve_server",
    "read_response",
    "serve_in_thread",
]


@dataclass
class Response:
    """A response as the client saw it."""

    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes
    version: int = 11
    header_list: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The (last) value of a response header, or None."""
        return self.headers.get(name)


class TestServer:
    """A server on an ephemeral port in a background thread, with a small client."""

    __test__ = False

    def __init__(
        self,
        site: Served,
        hooks: Hooks | None = None,
        plugins: Sequence[object] = (),
        **settings: Any,
    ) -> None:
        settings.setdefault("listen", ("tcp:0:interface=127.0.0.1",))
        settings.setdefault("access_log", False)
        if isinstance(settings.get("options"), Mapping):
            settings["options"] = MappingProxyType(dict(settings["options"]))
        self.config = Config(**settings)
        if plugins and hooks is None:
            hooks = plugin_hooks(*plugins, config=self.config,
                                 log_path=getattr(site, "logPath", None))
        #: What is served: a Site (a resource given is wrapped in one), or another factory.
        #: Typed Any: tests reach into a Site's resource tree or a factory's own attributes.
        served = isinstance(site, (Site, HTTPFactory)) or is_factory(site)
        self.site: Any = site if served else Site(site)  # type: ignore[arg-type]
        self._hooks = hooks
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.loop = asyncio.new_event_loop()
        self.server: Server | None = None
        self._thread = threading.Thread(target=self._run, name="plugserve-test", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        assert self.server is not None
        self.host: str = "127.0.0.1"
        try:
            self.port: int = self.server.port
        except ValueError:  # listening on UNIX sockets only
            self.port = 0
        self.url: str = f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.server = self.loop.run_until_complete(
                serve(self.site, config=self.config, hooks=self._hooks)
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def call(self, function: Callable[[], Any]) -> Any:
        """Run `function` on the server's loop thread and return its result."""
        async def wrapper() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(10)

    def has_read(self, sock: socket.socket) -> bool:
        """Whether the server has read (and so handled) every byte sent so far on the client
        socket `sock`: the peer's kernel acknowledged them all, and none waits in the server's
        socket.  What a test polls, with `eventually`, where it would otherwise sleep "until the
        server got it" (e.g. to make the next bytes arrive in a read of their own).  Linux."""
        if _queued(sock, termios.TIOCOUTQ):
            return False  # some are not yet acknowledged, or not even sent
        client = sock.getsockname()

        def unread() -> int | None:
            for connection in self.server.connections if self.server is not None else ():
                transport = getattr(connection, "transport", None)
                server_side = transport.get_extra_info("socket") if transport else None
                if server_side is not None and server_side.getpeername() == client:
                    return _queued(server_side, termios.FIONREAD)
            return None  # not accepted yet (or closed already)

        return bool(self.call(unread) == 0)

    def close(self) -> None:
        """Stop the server gracefully and end its thread."""
        if self.server is not None and self.loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self.server.close(timeout=2), self.loop)
            future.result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()

    def connection(self, timeout: float = 10) -> http.client.HTTPConnection:
        """A new keep-alive client connection."""
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        conn: http.client.HTTPConnection | None = None,
    ) -> Response:
        """One request (on `conn` if given, else a fresh connection)."""
        own = conn is None
        conn = conn or self.connection()
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            r = conn.getresponse()
            body_bytes = r.read()
            return Response(r.status, r.reason, r.headers, body_bytes, r.version,
                            list(r.getheaders()))
        finally:
            if own:
                conn.close()

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Response:
        """GET `path`."""
        return self.request("GET", path, headers)

    def raw(self, data: bytes, timeout: float = 5.0, shutdown: bool = False) -> bytes:
        """Send raw bytes on a new socket and read until the server closes or `timeout`."""
        with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
            sock.sendall(data)
            if shutdown:
                sock.shutdown(socket.SHUT_WR)
            chunks = []
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
            except (TimeoutError, ConnectionResetError):
                pass
            return b"".join(chunks)


class _Call:
    """What Clock.callLater returns: `cancel()`, `active()`, as Twisted's IDelayedCall."""

    def __init__(self, when: float, call: Callable[[], object]) -> None:
        self.when = when
        self.call = call
        self.called = self.cancelled = False

    def cancel(self) -> None:
        """Do not make the call."""
        self.cancelled = True

    def active(self) -> bool:
        """True until the call was made or cancelled."""
        return not (self.called or self.cancelled)


class Clock:
    """A clock that moves only when told, as Twisted's `task.Clock`: `seconds()`,
    `callLater()` and `advance(seconds)`.  Give it as a Site's `reactor` to test session expiry
    without waiting; advance it on the server's loop thread (`server.call`) when one runs."""

    def __init__(self) -> None:
        self._now = 0.0
        self._calls: list[_Call] = []

    def seconds(self) -> float:
        """The time on this clock."""
        return self._now

    def callLater(self, delay: float, f: Callable[..., object], *args: Any, **kw: Any) -> _Call:
        """Call `f(*args, **kw)` once the clock has been advanced by `delay` seconds."""
        call = _Call(self._now + delay, lambda: f(*args, **kw))
        self._calls.append(call)
        return call

    def advance(self, seconds: float) -> None:
        """Move the clock on, making the calls that fall due, in the order of their times (a
        call made by another is made too if it falls due within the same advance)."""
        end = self._now + seconds
        while due := sorted((c for c in self._calls if c.active() and c.when <= end),
                            key=lambda c: c.when):
            call = due[0]
            self._calls.remove(call)
            self._now = max(self._now, call.when)
            call.called = True
            call.call()
        self._calls = [c for c in self._calls if c.active()]
        self._now = end

    def getDelayedCalls(self) -> list[_Call]:
        """The calls not yet made or cancelled."""
        return [c for c in self._calls if c.active()]


def _queued(sock: Any, request: int) -> int:
    """The bytes the kernel holds for `sock`: unacknowledged output (TIOCOUTQ) or unread input
    (FIONREAD)."""
    raw = fcntl.ioctl(sock.fileno(), request, struct.pack("i", 0))
    return int(struct.unpack("i", raw)[0])


def eventually(predicate: Callable[[], object], timeout: float = 10) -> bool:
    """Poll `predicate` until it is true (True) or `timeout` seconds have passed (False): for
    what a server does a moment after a request (a connection closed, a thread freed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def plugin_hooks(*plugins: object, config: Config | None = None,
                 log_path: str | None = None) -> Hooks:
    """Hooks with the core's defaults plus `plugins` (modules or objects with @hookimpl
    functions), configured with `config`: how a plugin's tests exercise its hooks.  The access
    log (if `config.access_log`) goes to `config.logfile`, else `log_path` (a Site's
    `logPath`, which `plugserve.run` honours too), else stderr."""
    config = config or Config()
    pm = default_plugin_manager(config, log_path)
    for plugin in plugins:
        pm.register(plugin)
    hooks = Hooks(pm)
    hooks.configure(config)
    return hooks


def serve_in_thread(site: Served, **settings: Any) -> TestServer:
    """Start a TestServer (remember to close it)."""
    return TestServer(site, **settings)


@pytest.fixture
def plugserve_server() -> Iterator[Callable[..., TestServer]]:
    """A factory: `plugserve_server(site_or_resource, **config)` -> a running TestServer."""
    servers: list[TestServer] = []

    def start(site: Served, **settings: Any) -> TestServer:
        server = TestServer(site, **settings)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
