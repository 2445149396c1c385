"""Taking over a connection (DESIGN.md §4): a 2xx to CONNECT or a 101, then raw bytes both ways.

Over real sockets on both engines: the tunnel of docs/examples/tunnel.py relaying to a real TCP
echo server, with bytes pipelined right after the CONNECT head; the `Upgrade: echo` protocol of
the same file (the lower-level takeover); the heads byte for byte (no framing, RFC 9110 §9.3.6,
§15.2.2); tunnels counted by --max-connections and ended by graceful shutdown; the tunnel idle
timeout; switching answers that are never taken over; and nothing left open afterwards (file
descriptors, tasks, the upstream connection).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from plugserve._protocol.errors import InvalidResponse
from plugserve._protocol.h11_engine import HTTPConnection
from plugserve.resource import Resource
from plugserve.testing import TestServer, eventually

from tests.cli_helpers import REPO, plugserve_command
from tests.wire import RawClient, ServerFactory

pytestmark = pytest.mark.each_engine


def _load_example() -> ModuleType:
    path = REPO / "docs/examples/tunnel.py"
    spec = importlib.util.spec_from_file_location("tunnel_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = _load_example()


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: EchoServer = self.server  # type: ignore[assignment]
        with server.lock:
            server.open += 1
            server.sockets.add(self.request)
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except OSError:
            pass
        finally:
            with server.lock:
                server.open -= 1
                server.sockets.discard(self.request)


class EchoServer(socketserver.ThreadingTCPServer):
    """The upstream: a real TCP echo server, counting its open connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.lock = threading.Lock()
        self.open = 0
        self.sockets: set[socket.socket] = set()

    def close_connections(self) -> None:
        """Close every accepted connection from this side (the upstream goes away)."""
        with self.lock:
            for sock in self.sockets:
                sock.shutdown(socket.SHUT_RDWR)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@pytest.fixture
def upstream() -> Iterator[EchoServer]:
    server = EchoServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def connect_head(port: int) -> bytes:
    target = b"127.0.0.1:%d" % port
    return b"CONNECT " + target + b" HTTP/1.1\r\nHost: " + target + b"\r\n\r\n"


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The response head, up to its blank line, and the bytes that came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before the head ended: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def read_exactly(sock: socket.socket, count: int, start: bytes = b"") -> bytes:
    data = start
    while len(data) < count:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {len(data)} of {count} bytes"
        data += chunk
    return data


def closed_by_server(sock: socket.socket, timeout: float = 5.0) -> bool:
    """True when the server closes `sock` within `timeout` (what it sends first is dropped)."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def normalized(head: bytes) -> bytes:
    return re.sub(rb"\r\nDate: [^\r]+", b"\r\nDate: *", head)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def tasks(server: TestServer) -> int:
    return int(server.call(lambda: len(asyncio.all_tasks())))


def connections(server: TestServer) -> int:
    assert server.server is not None
    return int(server.call(lambda: len(server.server.connections)))  # type: ignore[union-attr]


def tunnel(server: TestServer, upstream: EchoServer, pipelined: bytes = b"") -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=5)
    sock.sendall(connect_head(upstream.port) + pipelined)
    head, rest = read_head(sock)
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert read_exactly(sock, len(pipelined), rest) == pipelined
    return sock


# -- the tunnel --------------------------------------------------------------------------------


def test_connect_tunnel_relays_both_ways_and_leaves_nothing_open(
    plugserve_server: ServerFactory, upstream: EchoServer
) -> None:
    server = plugserve_server(example.root)
    assert eventually(lambda: connections(server) == 0)
    fds, baseline_tasks = open_fds(), tasks(server)
    sock = socket.create_connection((server.host, server.port), timeout=5)
    # A TLS client sends its ClientHello right after the CONNECT head, in the same packet.
    hello = b"\x16\x03\x01\x00\xc8" + bytes(range(200))
    sock.sendall(connect_head(upstream.port) + hello)
    head, rest = read_head(sock)
    # RFC 9110 §9.3.6: no Content-Length, no Transfer-Encoding; and no Content-Type either.
    assert normalized(head) == (
        b"HTTP/1.1 200 Connection established\r\nServer: plugserve/0.1.0\r\nDate: *\r\n\r\n"
    )
    assert read_exactly(sock, len(hello), rest) == hello  # the pipelined bytes, first, intact
    big = os.urandom(3 * 1024 * 1024)  # past every buffer: flow control both ways
    sender = threading.Thread(target=sock.sendall, args=(big,))
    sender.start()
    assert read_exactly(sock, len(big)) == big
    sender.join()
    assert upstream.open == 1 and connections(server) == 1
    sock.close()  # the client side closes: the tunnel, its task and the upstream go
    assert eventually(lambda: connections(server) == 0)
    assert eventually(lambda: upstream.open == 0)
    assert eventually(lambda: tasks(server) == baseline_tasks)
    assert eventually(lambda: open_fds() == fds)


def test_the_upstream_closing_closes_the_client(
    plugserve_server: ServerFactory, upstream: EchoServer
) -> None:
    server = plugserve_server(example.root)
    sock = tunnel(server, upstream, b"ping")
    assert eventually(lambda: upstream.open == 1)
    upstream.close_connections()
    assert closed_by_server(sock)
    assert eventually(lambda: connections(server) == 0)
    sock.close()


def test_non_2xx_to_connect_is_a_normal_response(
    plugserve_server: ServerFactory, upstream: EchoServer
) -> None:
    server = plugserve_server(example.root)
    with RawClient.to(server) as client:
        client.send(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        refused = client.response(method=b"CONNECT")
        assert refused.status == 403 and refused.body == b"tunnels go to loopback addresses only\n"
        assert refused.header(b"content-length") == b"%d" % len(refused.body)
        client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")  # the connection is still HTTP
        assert client.response().status == 200


def test_connect_to_a_resource_without_it_is_405_as_before(
    plugserve_server: ServerFactory,
) -> None:
    class Page(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            return b"page"

    server = plugserve_server(Page())
    with RawClient.to(server) as client:
        client.send(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        response = client.response(method=b"CONNECT")
        assert response.status == 405 and response.header(b"allow") == b"HEAD, GET"


# -- the upgrade ---------------------------------------------------------------------------------


@pytest.mark.parametrize("connection", [b"Connection: Upgrade\r\n", b""],
                         ids=["connection-upgrade", "upgrade-alone"])
def test_upgrade_echo_takes_over_with_the_bytes_after_the_head(
    plugserve_server: ServerFactory, connection: bytes
) -> None:
    server = plugserve_server(example.root)
    fds, baseline_tasks = open_fds(), tasks(server)
    sock = socket.create_connection((server.host, server.port), timeout=5)
    frame = b"\x81\x05hello"  # what a WebSocket client may send right after its head
    sock.sendall(b"GET /echo HTTP/1.1\r\nHost: a\r\n" + connection + b"Upgrade: echo\r\n\r\n"
                 + frame)
    head, rest = read_head(sock)
    # RFC 9110 §15.2.2: no framing; §7.8: Upgrade names the protocol, Connection lists it.
    assert normalized(head) == (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nServer: plugserve/0.1.0\r\n"
        b"Date: *\r\nConnection: upgrade\r\n\r\n"
    )
    assert read_exactly(sock, len(frame), rest) == frame
    sock.sendall(b"more")
    assert read_exactly(sock, 4) == b"more"
    assert connections(server) == 1
    sock.close()
    assert eventually(lambda: connections(server) == 0)
    assert eventually(lambda: tasks(server) == baseline_tasks)
    assert eventually(lambda: open_fds() == fds)


def test_an_upgrade_it_does_not_speak_is_answered_normally(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(example.root)
    with RawClient.to(server) as client:
        client.send(b"GET /echo HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                    b"Upgrade: websocket\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert client.response().status == 426
        assert client.response().status == 200  # the pipelined request is served


# -- switching without taking over -------------------------------------------------------------


class SwitchesOnly(Resource):
    """Answers 200 to CONNECT and 101 to GET, but never takes the connection over."""

    isLeaf = True

    def render_CONNECT(self, request: Any) -> bytes:
        return b"ignored: a 2xx to CONNECT has no body"

    def render_GET(self, request: Any) -> bytes:
        request.setResponseCode(101)
        request.setHeader(b"upgrade", b"echo")
        return b""


@pytest.mark.parametrize("request_bytes", [
    b"CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
], ids=["connect", "upgrade"])
def test_switching_without_taking_over_closes_the_connection(
    plugserve_server: ServerFactory, request_bytes: bytes
) -> None:
    server = plugserve_server(SwitchesOnly())
    reply = server.raw(request_bytes)
    # One head, no body, no framing; what followed is not parsed as HTTP: the server closed.
    assert reply.count(b"HTTP/1.1 ") == 1 and reply.endswith(b"\r\n\r\n"), reply
    assert b"Content-Length" not in reply and b"Transfer-Encoding" not in reply
    assert b"Content-Type" not in reply
    assert eventually(lambda: connections(server) == 0)


class Misuse(Resource):
    isLeaf = True

    async def render_GET(self, request: Any) -> None:
        request.setResponseCode(200 if request.args.get(b"code") == [b"200"] else 101)
        if request.args.get(b"upgrade") == [b"1"]:
            request.setHeader(b"upgrade", b"echo")
        await request.take_over()


@pytest.mark.parametrize("target", [b"/?code=200", b"/?upgrade=0", b"/?upgrade=1"],
                         ids=["200-to-get", "101-without-upgrade", "101-not-asked-for"])
def test_take_over_refuses_a_response_that_does_not_switch(
    plugserve_server: ServerFactory, target: bytes
) -> None:
    server = plugserve_server(Misuse())
    with RawClient.to(server) as client:
        client.send(b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        assert client.response().status == 500  # RuntimeError from take_over, before any byte


class RawWriter(Resource):
    """Writes its whole response itself after `take_over(raw=True)`, status line included."""

    isLeaf = True

    async def render_POST(self, request: Any) -> None:
        body = request.content.read()
        request.setResponseCode(299)
        _reader, writer = await request.take_over(raw=True)
        writer.write(b"HTTP/1.0 299 Mine\r\nX-Raw: 1\r\n\r\n" + body[::-1])
        await writer.drain()
        writer.close()


def test_a_raw_take_over_sends_only_what_the_owner_writes(
    plugserve_server: ServerFactory,
) -> None:
    server = plugserve_server(RawWriter())
    reply = server.raw(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
    assert reply == b"HTTP/1.0 299 Mine\r\nX-Raw: 1\r\n\r\ncba"
    assert eventually(lambda: connections(server) == 0)


# -- limits, timeouts, shutdown ----------------------------------------------------------------


def test_max_connections_counts_tunnels(
    plugserve_server: ServerFactory, upstream: EchoServer
) -> None:
    server = plugserve_server(example.root, max_connections=2)
    first = tunnel(server, upstream, b"one")
    second = tunnel(server, upstream, b"two")
    assert connections(server) == 2
    refused = server.raw(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert refused.startswith(b"HTTP/1.1 503 ")
    first.close()
    assert eventually(lambda: connections(server) == 1)
    assert server.get("/").status == 200
    second.sendall(b"still")
    assert read_exactly(second, 5) == b"still"
    second.close()


def test_tunnel_idle_timeout_closes_a_silent_tunnel(
    plugserve_server: ServerFactory, upstream: EchoServer
) -> None:
    idle = 0.6
    server = plugserve_server(example.root, tunnel_idle_timeout_s=idle, keepalive_timeout_s=0.2,
                              header_timeout_s=0.2)
    sock = tunnel(server, upstream, b"x")
    # Traffic keeps it open well past the idle timeout (and past the request timers).
    until = time.monotonic() + 3 * idle
    while time.monotonic() < until:
        time.sleep(idle / 6)  # the client's pace, not synchronisation
        sock.sendall(b"tick")
        assert read_exactly(sock, 4) == b"tick"
    started = time.monotonic()  # the last byte moved: silence from here
    assert closed_by_server(sock, timeout=10 * idle)
    assert time.monotonic() - started >= idle * 0.9
    assert eventually(lambda: connections(server) == 0)
    assert eventually(lambda: upstream.open == 0)
    sock.close()


def test_graceful_shutdown_lets_a_tunnel_run_until_the_timeout(
    plugserve_server: ServerFactory, upstream: EchoServer
) -> None:
    server = plugserve_server(example.root)
    sock = tunnel(server, upstream, b"before")
    assert server.server is not None
    started = time.monotonic()
    stopping = asyncio.run_coroutine_threadsafe(server.server.close(timeout=1.0), server.loop)
    state = server.server._state
    assert state is not None
    assert eventually(lambda: server.call(lambda: state.closing))
    sock.sendall(b"during")  # shutting down, the tunnel still relays
    assert read_exactly(sock, 6) == b"during"
    assert closed_by_server(sock)  # aborted when the shutdown timeout ends
    stopping.result(10)
    assert time.monotonic() - started >= 0.9
    assert eventually(lambda: upstream.open == 0)
    sock.close()


# -- the writer and the flag, sans I/O -----------------------------------------------------------


def test_switching_heads_drop_framing_and_close_sans_io() -> None:
    connect = HTTPConnection()
    connect.receive_data(b"CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n")
    # The shutdown's `Connection: close` and a resource's Content-Length do not go out.
    head = connect.send_head(200, b"OK", [(b"content-length", b"0"),
                                          (b"transfer-encoding", b"chunked"),
                                          (b"connection", b"close")])
    assert head == b"HTTP/1.1 200 OK\r\n\r\n"
    assert connect.send_end() == b"" and not connect.keep_alive and connect.switching
    plain = HTTPConnection()
    plain.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    with pytest.raises(InvalidResponse, match="Upgrade header"):
        plain.send_head(101, b"Switching Protocols", [(b"upgrade", b"x")])
    with pytest.raises(InvalidResponse, match="switching"):
        plain.detach()
    asked = HTTPConnection()
    asked.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: x\r\n\r\n")
    with pytest.raises(InvalidResponse, match="needs an Upgrade header"):
        asked.send_head(101, b"Switching Protocols", [])


def test_the_tunnel_idle_timeout_flag() -> None:
    help_text = plugserve_command("--help").stdout
    assert "--tunnel-idle-timeout" in help_text
