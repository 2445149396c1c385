"""Nothing the proxy does may leave a file descriptor or an asyncio task behind.  The servers
run in this process (each TestServer on a loop thread), so /proc/self/fd counts every socket of
the clients, the proxies and the upstreams, and `asyncio.all_tasks` each plugserve loop's work.
Both are taken before and after a mix of what ends connections in different ways: 100 reverse-
proxied requests (kept-alive and not), a client that leaves in the middle of a big upstream
body, a CONNECT tunnel closed by the client and one closed by the origin, and a WebSocket
closed by its client.  They must come back to the baseline, the proxies' idle upstream
connections (the pool's, kept on purpose) being closed first.  A client that half-closes
mid-body must also leave nothing behind, and no error in the log (a bug this found)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import threading
from typing import Any

import requests
from plugserve.testing import TestServer, eventually
from plugserve_proxy import ForwardProxyResource, ReverseProxyResource, _settings
from proxy_services import WebSocketEcho
from websockets.sync.client import connect


def open_fds() -> int:
    """This process's open file descriptors."""
    return len(os.listdir("/proc/self/fd"))


def fd_targets() -> list[str]:
    """What each open descriptor is (for the message of a failed assertion)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass  # the descriptor listdir itself used, closed already
    return sorted(found)


def loop_tasks(server: TestServer) -> int:
    """The tasks alive on `server`'s loop, counted by a plain callback on it (not a coroutine,
    which would be a task itself)."""
    future: concurrent.futures.Future[int] = concurrent.futures.Future()
    server.loop.call_soon_threadsafe(
        lambda: future.set_result(len(asyncio.all_tasks(server.loop))))
    return future.result(10)


def close_pool(server: TestServer) -> None:
    """Close the idle upstream connections of the proxy pool on `server`'s loop."""
    async def close() -> None:
        await _settings.pool().aclose()

    asyncio.run_coroutine_threadsafe(close(), server.loop).result(10)


class TcpOrigin:
    """A CONNECT destination: echoes what it gets, and closes the connection itself once a
    message contains b"close".  A thread per connection; `open` counts those not yet closed."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self.open = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.open += 1
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn: socket.socket) -> None:
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
                    if b"close" in data:
                        break
            except OSError:
                pass
        with self._lock:
            self.open -= 1

    def close(self) -> None:
        self._sock.close()


def _tunnel(proxy: TestServer, port: int) -> socket.socket:
    """A client socket with a CONNECT tunnel to 127.0.0.1:`port` established."""
    sock = socket.create_connection((proxy.host, proxy.port), timeout=10)
    sock.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
                 .encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        assert byte, head
        head += byte
    assert head.startswith(b"HTTP/1.1 200 "), head
    return sock


def _echoed(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    got = b""
    while len(got) < len(data) and (chunk := sock.recv(65536)):
        got += chunk
    return got


def test_no_descriptor_or_task_outlives_its_connection(
        plugserve_server: Any, echo: Any, ws_echo: WebSocketEcho) -> None:
    _resource, upstream = echo
    origin = TcpOrigin()
    _settings.use(_settings.ProxySettings(connect_ports=frozenset({origin.port})))
    reverse = plugserve_server(ReverseProxyResource("127.0.0.1", upstream.port, b""))
    forward = plugserve_server(ForwardProxyResource())
    ws_proxy = plugserve_server(ReverseProxyResource("127.0.0.1", ws_echo.port, b""))
    servers = [upstream, reverse, forward, ws_proxy]

    def counts() -> tuple[int, list[int]]:
        return open_fds(), [loop_tasks(s) for s in servers]

    baseline = counts()

    with requests.Session() as session:  # 50 on one kept-alive connection, 50 on their own
        for i in range(50):
            assert session.get(f"{reverse.url}/k{i}").status_code == 200
    for i in range(50):
        assert reverse.get(f"/n{i}").status == 200

    with socket.create_connection((reverse.host, reverse.port), timeout=10) as client:
        client.sendall(b"GET /big?n=1000000000 HTTP/1.1\r\nHost: x\r\n\r\n")
        got = 0
        while got < 1_000_000:
            chunk = client.recv(65536)
            assert chunk
            got += len(chunk)
    # (the client left 999 MB early: the proxy must drop both sides of that exchange)

    with _tunnel(forward, origin.port) as client:
        assert _echoed(client, b"hello") == b"hello"
    with _tunnel(forward, origin.port) as client:
        assert _echoed(client, b"please close") == b"please close"
        assert client.recv(1) == b""  # the origin's close reached the client
    assert eventually(lambda: origin.open == 0)

    with connect(f"ws://127.0.0.1:{ws_proxy.port}/leak", open_timeout=10) as ws:
        ws.send("ping")
        assert ws.recv(timeout=10) == "ping"
    assert eventually(lambda: ws_echo.seen and ws_echo.seen[-1]["close_code"] == 1000)

    for proxy in (reverse, forward, ws_proxy):
        close_pool(proxy)
    settled = eventually(lambda: counts() == baseline)
    origin.close()
    assert settled, (baseline, counts(), fd_targets())


def test_a_client_half_closing_mid_body_is_a_client_gone_not_an_error(
        plugserve_server: Any, echo: Any, caplog: Any) -> None:
    """A client that shuts down its sending side during a big relayed body has gone away (as
    for nginx's 499): both proxies stop relaying without logging an error, quietly."""
    _resource, upstream = echo
    reverse = plugserve_server(ReverseProxyResource("127.0.0.1", upstream.port, b""))
    forward = plugserve_server(ForwardProxyResource())
    servers = [upstream, reverse, forward]
    baseline = open_fds(), [loop_tasks(s) for s in servers]
    targets = [(reverse, "/big?n=100000000"),
               (forward, f"http://127.0.0.1:{upstream.port}/big?n=100000000")]
    for proxy, target in targets:
        with socket.create_connection((proxy.host, proxy.port), timeout=10) as client:
            client.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            got = 0
            while got < 1_000_000:
                chunk = client.recv(65536)
                assert chunk
                got += len(chunk)
            client.shutdown(socket.SHUT_WR)
            while chunk := client.recv(65536):  # what was sent already, then the close
                got += len(chunk)
        assert got < 100_000_000
    for proxy in (reverse, forward):
        close_pool(proxy)
    assert eventually(lambda: (open_fds(), [loop_tasks(s) for s in servers]) == baseline)
    assert [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")
            ] == []
