"""Clients that hold a connection without making progress (issue 12, items 1, 2, 3 and 11), over
real sockets on both engines: one that never reads its response (--send-timeout), one that
trickles its body (--min-body-rate), one that keeps sending after the answer (lingering close),
and downloads cut by a shutdown.  Each test counts what is left on the server afterwards:
connections, and the tasks of its loop.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from plugserve.resource import Resource
from plugserve.server import Request
from plugserve.testing import TestServer, eventually
from plugserve_static import File
from plugserve_wsgi import WSGIResource

from tests.cli_helpers import LOOPBACK, running
from tests.wire import RawClient, ServerFactory, parse_responses

pytestmark = pytest.mark.each_engine

BIG = 8 * 1024 * 1024


def _open_connections(server: TestServer) -> int:
    return int(server.call(lambda: len(server.server.connections)))  # type: ignore[union-attr]


def _tasks(server: TestServer) -> int:
    return int(server.call(lambda: len(asyncio.all_tasks(server.loop))))


def _non_reader(server: TestServer, request: bytes) -> socket.socket:
    """A client that sends `request` and then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((server.host, server.port))
    sock.sendall(request)
    return sock


class Big(Resource):
    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return b"x" * BIG


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    (tmp_path / "big.bin").write_bytes(b"y" * BIG)
    return tmp_path


def _get(path: bytes) -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n"


# -- item 1: --send-timeout ----------------------------------------------------------------------


@pytest.mark.parametrize("sendfile", [True, False], ids=["sendfile", "writes"])
def test_a_client_that_never_reads_a_file_is_closed(
    plugserve_server: ServerFactory, big_file: Path, sendfile: bool
) -> None:
    server = plugserve_server(File(str(big_file)), send_timeout_s=0.5, sendfile=sendfile)
    tasks = _tasks(server)
    clients = [_non_reader(server, _get(b"/big.bin")) for _ in range(3)]
    try:
        assert eventually(lambda: _open_connections(server) == 3, 2)
        started = time.monotonic()
        assert eventually(lambda: _open_connections(server) == 0), "still held"
        assert time.monotonic() - started < 6
        assert eventually(lambda: _tasks(server) <= tasks), "a task was left behind"
        assert server.get("/").status == 200
    finally:
        for sock in clients:
            sock.close()


def test_a_client_that_never_reads_a_buffered_response_is_closed(
    plugserve_server: ServerFactory,
) -> None:
    """The whole body went to the transport in one write; the response is over on our side."""
    server = plugserve_server(Big(), send_timeout_s=0.5, keepalive_timeout_s=0.3)
    sock = _non_reader(server, _get(b"/"))
    try:
        assert eventually(lambda: _open_connections(server) == 0)
    finally:
        sock.close()


@pytest.mark.parametrize("sendfile", [True, False], ids=["sendfile", "writes"])
def test_a_slow_reader_that_makes_progress_is_not_cut(
    plugserve_server: ServerFactory, tmp_path: Path, sendfile: bool
) -> None:
    """Reading at 512 KiB/s is slow for loopback, but a sendfile piece (128 KiB) or a flow
    control window every 0.25 s: progress within every 0.5 s send timeout."""
    size = 2 * 1024 * 1024
    (tmp_path / "mid.bin").write_bytes(b"z" * size)
    server = plugserve_server(File(str(tmp_path)), send_timeout_s=0.5, sendfile=sendfile)
    with RawClient.to(server, timeout=10) as client:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        client.send(_get(b"/mid.bin"))
        received = 0
        started = time.monotonic()
        while received < size:
            chunk = client.sock.recv(16384)
            assert chunk, f"closed after {received} bytes"
            received += len(chunk)
            ahead = received / (512 * 1024) - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    assert received > size  # the head, then the whole file


def test_clients_that_never_read_free_the_wsgi_threads(plugserve_server: ServerFactory) -> None:
    """More never-reading clients than WSGI threads: once the send timeout cuts them, the
    threads are free and a normal request is served."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        for _ in range(64):
            yield b"w" * (256 * 1024)

    executor = ThreadPoolExecutor(2)
    try:
        server = plugserve_server(WSGIResource(None, executor, application), send_timeout_s=0.5)
        clients = [_non_reader(server, _get(b"/")) for _ in range(4)]
        try:
            assert eventually(lambda: _open_connections(server) == 0), "still held"
            with RawClient.to(server, timeout=10) as client:
                client.send(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
                assert client.response(b"HEAD").status == 200
        finally:
            for sock in clients:
                sock.close()
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


# -- item 2: --min-body-rate ---------------------------------------------------------------------


class Echo(Resource):
    isLeaf = True

    def render_POST(self, request: Request) -> bytes:
        return request.content.read()


def _trickle(client: RawClient, count: int, pause: float) -> bool:
    """Send `count` body bytes one at a time; False once the server has closed."""
    for _ in range(count):
        try:
            client.sock.sendall(b"a")
        except OSError:  # the server closed (or the test did)
            return False
        time.sleep(pause)
    return True


def test_a_trickled_body_gets_408(plugserve_server: ServerFactory) -> None:
    """A byte every 0.2 s is inside the 30 s body timeout, but far below 100 B/s."""
    server = plugserve_server(Echo(), min_body_rate_bytes_s=100, min_body_rate_grace_s=0.5)
    with RawClient.to(server) as client:
        started = time.monotonic()
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n")
        threading.Thread(target=_trickle, args=(client, 40, 0.2), daemon=True).start()
        response = client.response(b"POST")
        assert response.status == 408
        assert b"bytes/s" in response.body
        assert time.monotonic() - started < 3


def test_a_body_at_the_rate_is_received(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), min_body_rate_bytes_s=100, min_body_rate_grace_s=0.5)
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 300\r\n\r\n")
        for _ in range(10):  # 30 bytes every 0.1 s: 300 B/s
            client.send(b"b" * 30)
            time.sleep(0.1)
        assert client.response(b"POST").body == b"b" * 300


def test_a_trickled_body_never_takes_a_wsgi_thread(plugserve_server: ServerFactory) -> None:
    calls: list[int] = []

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        calls.append(1)
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    server = plugserve_server(WSGIResource(None, None, application),
                              min_body_rate_bytes_s=100, min_body_rate_grace_s=0.5)
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n")
        threading.Thread(target=_trickle, args=(client, 20, 0.1), daemon=True).start()
        assert client.response(b"POST").status == 408
    assert calls == [], "the application ran for a body that never came"
    with RawClient.to(server) as client:  # a body that arrives at once still gets its thread
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
        assert client.response(b"POST").body == b"hello"
    assert calls == [1]


# -- item 3: lingering close ---------------------------------------------------------------------


def _send_in_background(sock: socket.socket, data: bytes) -> threading.Thread:
    def send() -> None:
        try:
            sock.sendall(data)
        except OSError:
            pass

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_the_answer_to_a_body_too_large_is_read_not_reset(plugserve_server: ServerFactory) -> None:
    """The client is still sending a body the server refused (413 by Content-Length): it reads
    the 413, not a connection reset."""
    server = plugserve_server(Echo(), max_body_bytes=1000)
    for _ in range(5):
        with RawClient.to(server) as client:
            body = b"c" * (2 * 1024 * 1024)
            head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body)
            sender = _send_in_background(client.sock, head + body)
            time.sleep(0.3)  # the client's pace: it reads only after sending for a while
            response = client.response(b"POST")
            assert response.status == 413
            sender.join(5)


@pytest.mark.parametrize(
    "head",
    [b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000000\r\n\r\n",
     b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"h" * 20000 + b"\r\n\r\n"],
    ids=["413", "431"],
)
def test_after_a_refusal_the_server_lingers(plugserve_server: ServerFactory, head: bytes) -> None:
    """After the 413 or 431 the server half-closes (a FIN after its answer) and goes on
    reading: a client still sending gets no reset, which would lose the answer on a network
    where it had not arrived yet."""
    server = plugserve_server(Echo(), max_body_bytes=1000)
    with RawClient.to(server) as client:
        client.send(head)
        status = client.response(b"POST").status
        assert status in (413, 431)
        assert client.stream.read(1) == b""  # the server's FIN, not a reset
        for _ in range(20):
            client.send(b"c" * 10000)  # 200 kB more: still read and dropped
            time.sleep(0.01)
    assert eventually(lambda: _open_connections(server) == 0)


def test_lingering_stops_at_its_byte_bound(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), max_body_bytes=1000, max_linger_bytes=64 * 1024,
                              linger_timeout_s=5.0)
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000000\r\n\r\n")
        assert client.response(b"POST").status == 413
        started = time.monotonic()
        sender = _send_in_background(client.sock, b"c" * 5_000_000)
        sender.join(8)
        assert not sender.is_alive(), "the server kept reading past --max-linger"
        assert time.monotonic() - started < 7


def test_an_endless_chunked_body_to_a_missing_resource_is_cut_off(
    plugserve_server: ServerFactory, tmp_path: Path
) -> None:
    server = plugserve_server(File(str(tmp_path)), max_linger_bytes=256 * 1024,
                              linger_timeout_s=1.0)
    with RawClient.to(server) as client:
        client.send(b"POST /missing HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        started = time.monotonic()
        cut = False
        while time.monotonic() - started < 8:
            if not client.try_send(b"4000\r\n" + b"d" * 0x4000 + b"\r\n"):
                cut = True
                break
        assert cut, "the server read the endless body for 8 s"
        [response] = parse_responses(client.read_all())
        assert response.status in (404, 405)
    assert eventually(lambda: _open_connections(server) == 0)


def test_an_early_answer_with_a_short_rest_keeps_the_connection(
    plugserve_server: ServerFactory, tmp_path: Path
) -> None:
    server = plugserve_server(File(str(tmp_path)))
    with RawClient.to(server) as client:
        client.send(b"POST /missing HTTP/1.1\r\nHost: a\r\nContent-Length: 10000\r\n\r\n")
        assert client.response(b"POST").status in (404, 405)
        client.send(b"e" * 10000 + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert client.response().status == 200


# -- item 11: a quiet shutdown -------------------------------------------------------------------


def test_shutdown_during_slow_sendfile_downloads_is_quiet(big_file: Path, http_engine: str) -> None:
    with running(["--path", str(big_file), "--listen", LOOPBACK, "--http", http_engine,
                  "--shutdown-timeout", "0.5"]) as server:
        port = int(server.url.rsplit(":", 1)[1].strip("/"))
        clients = []
        for _ in range(4):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.sendall(_get(b"/big.bin"))
            sock.recv(1000)  # the download has begun; with 4 KiB buffers it cannot end
            clients.append(sock)
        status, _, err = server.stop(signal.SIGTERM)
        for sock in clients:
            sock.close()
    assert status == 0
    assert "Traceback" not in err and "Error" not in err, err


def test_a_broken_body_after_an_early_answer_gets_no_second_answer(
    plugserve_server: ServerFactory, tmp_path: Path
) -> None:
    """The 404 is the answer; bad framing in the body being dropped after it closes the
    connection instead of adding an unsolicited 400."""
    server = plugserve_server(File(str(tmp_path)))
    with RawClient.to(server) as client:
        client.send(b"POST /missing HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        assert client.response(b"POST").status == 404
        client.send(b"5\r\nhello\r\nzz\r\n")
        assert parse_responses(client.read_all()) == []
