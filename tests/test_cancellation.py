"""When the client goes away before the response is finished, the work stops (issue 13 §3):
the render coroutine is cancelled (its `finally` kills a subprocess, closes an upstream
connection), a registered producer is stopped, notifyFinish errbacks; over real sockets."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from typing import Any

import pytest
from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET, Request
from plugserve.testing import TestServer, eventually

from tests.wire import RawClient, ServerFactory

pytestmark = pytest.mark.each_engine

GET = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


def _tasks(server: TestServer) -> int:
    return int(server.call(lambda: len(asyncio.all_tasks(server.loop))))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Child(Resource):
    """Renders by waiting on a subprocess; its cleanup kills and reaps it."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.pid = 0
        self.started = threading.Event()
        self.outcome: list[str] = []
        self.lost: list[str] = []

    async def render_GET(self, request: Request) -> bytes:
        finished = request.notifyFinish()
        _ = finished.addErrback(lambda reason: self.lost.append(type(reason).__name__))
        proc = await asyncio.create_subprocess_exec("sleep", "60")
        self.pid = proc.pid
        self.started.set()
        try:
            await proc.wait()
            self.outcome.append("ended")
        except asyncio.CancelledError:
            self.outcome.append("cancelled")
            raise
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        return b"done"


def test_a_render_coroutine_is_cancelled_and_its_subprocess_killed(
    plugserve_server: ServerFactory,
) -> None:
    resource = Child()
    server = plugserve_server(resource)
    baseline = _tasks(server)
    with RawClient.to(server) as client:
        client.send(GET)
        assert resource.started.wait(10)
        assert _alive(resource.pid)
        assert _tasks(server) == baseline + 1  # the render task
    assert eventually(lambda: resource.outcome == ["cancelled"])
    assert eventually(lambda: not _alive(resource.pid)), "the child was left running"
    assert eventually(lambda: _tasks(server) == baseline)
    assert resource.lost == ["ConnectionDone"]  # notifyFinish failed too


def test_a_reset_cancels_too(plugserve_server: ServerFactory) -> None:
    resource = Child()
    server = plugserve_server(resource)
    sock = socket.create_connection((server.host, server.port))
    sock.sendall(GET)
    assert resource.started.wait(10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
    assert eventually(lambda: resource.outcome == ["cancelled"])
    assert eventually(lambda: not _alive(resource.pid))
    assert resource.lost == ["ConnectionLost"]


def test_an_upstream_connection_is_closed_when_the_client_leaves(
    plugserve_server: ServerFactory,
) -> None:
    """A proxy-like render waits on an upstream socket: cancelled, it closes it, and the
    upstream sees the end of the stream."""
    upstream = socket.create_server(("127.0.0.1", 0))
    port = upstream.getsockname()[1]

    class Proxy(Resource):
        isLeaf = True

        async def render_GET(self, request: Request) -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(b"GET / HTTP/1.1\r\nHost: upstream\r\n\r\n")
                return await reader.read()
            finally:
                writer.close()

    server = plugserve_server(Proxy())
    with upstream, RawClient.to(server) as client:
        client.send(GET)
        upstream.settimeout(10)
        conn, _ = upstream.accept()
        with conn:
            conn.settimeout(10)
            assert conn.recv(100).startswith(b"GET / HTTP/1.1")
            client.close()
            assert conn.recv(100) == b"", "the upstream connection was left open"


def test_a_render_that_ends_normally_is_not_cancelled(plugserve_server: ServerFactory) -> None:
    class Quick(Resource):
        isLeaf = True

        async def render_GET(self, request: Request) -> bytes:
            await asyncio.sleep(0)
            return b"quick"

    root = Resource()
    root.putChild(b"quick", Quick())
    server = plugserve_server(root)
    baseline = _tasks(server)
    with RawClient.to(server) as client:
        for _ in range(3):
            client.send(b"GET /quick HTTP/1.1\r\nHost: a\r\n\r\n")
            assert client.response().body == b"quick"
    assert eventually(lambda: _tasks(server) == baseline)


def test_work_after_finish_is_not_cancelled(plugserve_server: ServerFactory) -> None:
    """A finished request is not affected by its client leaving afterwards."""
    done = threading.Event()
    release: list[asyncio.Event] = []
    outcome: list[str] = []

    class After(Resource):
        isLeaf = True

        async def render_GET(self, request: Request) -> object:
            request.write(b"answered")
            request.finish()
            gate = asyncio.Event()
            release.append(gate)
            done.set()
            try:
                await gate.wait()
                outcome.append("went on")
            except asyncio.CancelledError:
                outcome.append("cancelled")
                raise
            return NOT_DONE_YET

    server = plugserve_server(After())
    with RawClient.to(server) as client:
        client.send(GET)
        assert client.response().body == b"answered"
        assert done.wait(10)
    assert eventually(lambda: _open_connections(server) == 0)
    server.call(lambda: release[0].set())
    assert eventually(lambda: outcome == ["went on"])


def _open_connections(server: TestServer) -> int:
    return int(server.call(lambda: len(server.server.connections)))  # type: ignore[union-attr]


class Producer:
    """A push producer that writes on resumeProducing until stopped."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.calls: list[str] = []

    def pauseProducing(self) -> None:
        self.calls.append("pause")

    def resumeProducing(self) -> None:
        self.calls.append("resume")

    def stopProducing(self) -> None:
        self.calls.append("stop")


def test_a_registered_producer_is_stopped(plugserve_server: ServerFactory) -> None:
    producers: list[Producer] = []
    lost: list[str] = []

    class Streaming(Resource):
        isLeaf = True

        def render_GET(self, request: Request) -> object:
            producer = Producer(request)
            producers.append(producer)
            request.registerProducer(producer, True)
            request.write(b"first part")
            finished = request.notifyFinish()
            _ = finished.addErrback(lambda reason: lost.append("lost"))
            return NOT_DONE_YET

    server = plugserve_server(Streaming())
    with RawClient.to(server) as client:
        client.send(GET)
        assert client.sock.recv(100)
    assert eventually(lambda: bool(producers) and "stop" in producers[0].calls)
    assert producers[0].calls.count("stop") == 1
    assert lost == ["lost"]


def test_a_streamed_body_reader_is_cancelled_mid_body(plugserve_server: ServerFactory) -> None:
    outcome: list[str] = []
    reading = threading.Event()

    class Upload(Resource):
        isLeaf = True
        stream_request_body = True

        async def render_POST(self, request: Request) -> bytes:
            content: Any = request.content
            try:
                while data := await content.read(1000):
                    reading.set()
                    del data
            except asyncio.CancelledError:
                outcome.append("cancelled")
                raise
            except OSError as exc:
                outcome.append(type(exc).__name__)
            return b"read"

    server = plugserve_server(Upload())
    baseline = _tasks(server)
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + b"x" * 10)
        assert reading.wait(10)
    assert eventually(lambda: outcome == ["cancelled"])
    assert eventually(lambda: _tasks(server) == baseline)
