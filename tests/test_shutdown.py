"""Graceful shutdown: requests in flight finish, idle connections close, new ones are refused."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from plugserve import reactor
from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET, Request
from plugserve.testing import TestServer, eventually

from tests.wire import RawClient, ServerFactory, good_request


class Slow(Resource):
    """GET /slow finishes after `delay` seconds; anything else answers at once."""

    isLeaf = True

    def __init__(self, delay: float = 0.5) -> None:
        super().__init__()
        self.delay = delay
        self.started = threading.Event()

    def render_GET(self, request: Request) -> bytes | int:
        if request.path != b"/slow":
            return b"fast"
        self.started.set()

        def done() -> None:
            request.write(b"done")
            request.finish()

        reactor.callLater(self.delay, done)
        return NOT_DONE_YET


def _wait_closing(server: TestServer) -> None:
    """Wait until close() has begun: the listener is closed before `closing` is set.

    Connecting earlier would race with the close: on CPython 3.11 a connection accepted just
    before asyncio's Server.close() trips an assertion in Server._attach, and its socket is left
    to the GC (an unclosed-transport ResourceWarning), which is asyncio's bug, not plugserve's."""
    assert server.server is not None
    state = server.server._state
    assert state is not None
    def closing() -> bool:
        return bool(server.call(lambda: state.closing))

    assert eventually(closing, timeout=5), "close() did not begin"


def _refused(server: TestServer) -> bool:
    try:
        with socket.create_connection((server.host, server.port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def _get(path: bytes) -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n"


def test_request_in_flight_completes_during_shutdown(plugserve_server: ServerFactory) -> None:
    resource = Slow(0.5)
    server = plugserve_server(resource)
    with RawClient.to(server) as client:
        client.send(_get(b"/slow"))
        assert resource.started.wait(5)
        closer = threading.Thread(target=server.close)
        closer.start()
        try:
            _wait_closing(server)
            assert _refused(server), "still accepting after close()"
            assert closer.is_alive(), "close() waits for the request in flight"
            response = client.response()
            assert (response.status, response.body) == (200, b"done")
            assert response.closes, "the last response announces the close"
            assert client.closed_by_server()
        finally:
            closer.join(10)
    assert not closer.is_alive()
    assert _refused(server)


def test_idle_connections_close_at_once_and_pipelined_requests_are_not_started(
    plugserve_server: ServerFactory,
) -> None:
    resource = Slow(0.5)
    server = plugserve_server(resource, keepalive_timeout_s=30)
    with RawClient.to(server) as idle, RawClient.to(server) as busy:
        idle.send(_get(b"/"))
        assert idle.response().body == b"fast"
        # A slow request with a second one pipelined behind it.
        busy.send(_get(b"/slow") + _get(b"/"))
        assert resource.started.wait(5)
        started = time.monotonic()
        closer = threading.Thread(target=server.close)
        closer.start()
        try:
            assert idle.closed_by_server(timeout=3), "an idle keep-alive connection closes"
            assert time.monotonic() - started < 3
            response = busy.response()
            assert (response.status, response.body) == (200, b"done")
            assert response.closes
            assert busy.closed_by_server(), "the pipelined request is not started"
        finally:
            closer.join(10)


def test_request_outlasting_the_shutdown_timeout_is_aborted(
    plugserve_server: ServerFactory,
) -> None:
    resource = Slow(30)
    server = plugserve_server(resource)
    assert server.server is not None
    with RawClient.to(server) as client:
        client.send(_get(b"/slow"))
        assert resource.started.wait(5)
        started = time.monotonic()
        close = asyncio.run_coroutine_threadsafe(server.server.close(timeout=0.3), server.loop)
        close.result(10)
        assert time.monotonic() - started < 5
        assert client.closed_by_server(timeout=3)
    assert _refused(server)


def test_connection_accepted_while_closing_gets_503(plugserve_server: ServerFactory) -> None:
    """A connection accepted just before the listener closed is told to go away."""
    resource = Slow(0.5)
    server = plugserve_server(resource)
    assert server.server is not None
    state = server.server._state
    assert state is not None
    with RawClient.to(server) as client:
        client.send(_get(b"/slow"))
        assert resource.started.wait(5)
        server.call(lambda: setattr(state, "closing", True))  # as close() does first
        with socket.create_connection((server.host, server.port), timeout=5) as late:
            late.sendall(good_request())
            data = late.recv(65536)
        assert data.startswith(b"HTTP/1.1 503 ")
        response = client.response()
        assert (response.status, response.body) == (200, b"done")
        assert response.closes


@pytest.mark.parametrize("partial", [b"GET /slow HTTP/1.1\r\nHost: a\r\n", b"GET /sl"])
def test_partial_head_does_not_hold_shutdown_forever(
    plugserve_server: ServerFactory, partial: bytes
) -> None:
    """A client that sent half a head when shutdown starts is dropped by the deadline."""
    server = plugserve_server(Slow(), header_timeout_s=30)
    assert server.server is not None
    with RawClient.to(server) as client:
        client.send(partial)
        assert eventually(lambda: server.has_read(client.sock))  # a half head, not an idle one
        started = time.monotonic()
        close = asyncio.run_coroutine_threadsafe(server.server.close(timeout=0.3), server.loop)
        close.result(10)
        assert time.monotonic() - started < 5
        assert client.closed_by_server(timeout=3)
