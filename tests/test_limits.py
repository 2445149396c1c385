"""Every limit of plugserve.config.Config, set small and hit over a real socket.

Timeouts are a few tenths of a second (the sweeper runs several times a second); the tests only
assert generous upper bounds on elapsed time, never lower ones beyond what the protocol implies.
"""

from __future__ import annotations

import socket
import time

import pytest
from plugserve.resource import Resource
from plugserve.server import Request
from plugserve.testing import eventually

from tests.wire import RawClient, ServerFactory, good_request, parse_responses

# Every test here runs on each HTTP engine (tests/conftest.py).
pytestmark = pytest.mark.each_engine


class Echo(Resource):
    """GET: b"hello"; POST: the body back."""

    isLeaf = True

    def render_GET(self, request: Request) -> bytes | int:
        return b"hello"

    def render_POST(self, request: Request) -> bytes | int:
        return request.content.read()


def get(path: bytes = b"/", *headers: bytes) -> bytes:
    return b"\r\n".join((b"GET " + path + b" HTTP/1.1", b"Host: a", *headers)) + b"\r\n\r\n"


def post_head(*headers: bytes) -> bytes:
    return b"\r\n".join((b"POST / HTTP/1.1", b"Host: a", *headers)) + b"\r\n\r\n"


def statuses(raw: bytes) -> list[int]:
    return [r.status for r in parse_responses(raw)]


# -- max_request_line_bytes ----------------------------------------------------------------------


def test_request_line_limit(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), max_request_line_bytes=100)
    at_limit = b"/" + b"a" * (100 - len(b"GET / HTTP/1.1"))
    assert len(b"GET " + at_limit + b" HTTP/1.1") == 100
    assert statuses(server.raw(get(at_limit, b"Connection: close"))) == [200]
    [response] = parse_responses(server.raw(get(at_limit + b"a", b"Connection: close")))
    assert response.status == 414
    assert response.closes


def test_request_line_limit_without_a_line_end(plugserve_server: ServerFactory) -> None:
    """An endless request line is refused as soon as it passes the limit, in small pieces."""
    server = plugserve_server(Echo(), max_request_line_bytes=100)
    with RawClient.to(server) as client:
        client.send(b"GET /")
        for _ in range(20):
            if not client.try_send(b"a" * 10):
                break  # refused before the end of the line
            time.sleep(0.005)
        assert client.response().status == 414
        assert client.closed_by_server()


# -- max_header_bytes ----------------------------------------------------------------------------


def _head(size: int) -> bytes:
    """A GET head of about `size` bytes."""
    base = get(b"/", b"Connection: close", b"X-Pad: ")
    return base[:-4] + b"p" * (size - len(base)) + b"\r\n\r\n"


def test_header_bytes_limit_in_one_send(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), max_header_bytes=1024)
    assert statuses(server.raw(_head(1000))) == [200]
    [response] = parse_responses(server.raw(_head(1100)))
    assert response.status == 431
    assert response.closes


@pytest.mark.parametrize("piece", [1, 7, 64, 500])
def test_header_bytes_limit_trickled(plugserve_server: ServerFactory, piece: int) -> None:
    server = plugserve_server(Echo(), max_header_bytes=1024)
    data = _head(1100)
    with RawClient.to(server) as client:
        for i in range(0, len(data), piece):
            if not client.try_send(data[i:i + piece]):
                break  # refused before the end of the head
            if piece > 1:
                time.sleep(0.002)
        assert client.response().status == 431
        assert client.closed_by_server()
    with RawClient.to(server) as client:  # under the limit, the same trickle is fine
        data = _head(1000)
        for i in range(0, len(data), piece):
            client.send(data[i:i + piece])
        assert client.response().status == 200


def test_header_bytes_limit_on_a_head_that_never_ends(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), max_header_bytes=1024)
    with RawClient.to(server) as client:
        client.send(get()[:-2])
        for i in range(30):
            if not client.try_send(b"X-%d: %s\r\n" % (i, b"v" * 50)):
                break
        assert client.response().status == 431
        assert client.closed_by_server()


def test_header_bytes_limit_on_a_pipelined_request(plugserve_server: ServerFactory) -> None:
    """The second head of a pipeline is measured too, though h11 only sees it later."""
    server = plugserve_server(Echo(), max_header_bytes=1024)
    raw = server.raw(get() + _head(3000) + good_request())
    assert statuses(raw) == [200, 431]


# -- max_header_count ----------------------------------------------------------------------------


def test_header_count_limit(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), max_header_count=5)
    five = [b"Connection: close", b"A: 1", b"B: 2", b"C: 3"]  # with Host: 5 headers
    assert statuses(server.raw(get(b"/", *five))) == [200]
    [response] = parse_responses(server.raw(get(b"/", *five, b"D: 4")))
    assert response.status == 431
    assert response.closes


# -- max_body_bytes ------------------------------------------------------------------------------


def test_body_limit_by_content_length_before_the_body_is_sent(
    plugserve_server: ServerFactory,
) -> None:
    server = plugserve_server(Echo(), max_body_bytes=100)
    with RawClient.to(server) as client:
        client.send(post_head(b"Content-Length: 101"))  # and no body at all
        response = client.response(b"POST")
        assert response.status == 413
        assert response.closes
        assert client.closed_by_server()
    with RawClient.to(server) as client:
        client.send(post_head(b"Content-Length: 100") + b"b" * 100)
        response = client.response(b"POST")
        assert (response.status, response.body) == (200, b"b" * 100)


def test_body_limit_while_reading_a_chunked_body(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), max_body_bytes=100)
    with RawClient.to(server) as client:
        client.send(post_head(b"Transfer-Encoding: chunked"))
        client.send(b"3c\r\n" + b"a" * 60 + b"\r\n")
        assert eventually(lambda: server.has_read(client.sock))  # the next chunk: another read
        client.try_send(b"3c\r\n" + b"b" * 60 + b"\r\n")  # 120 bytes so far; no last chunk
        response = client.response(b"POST")
        assert response.status == 413
        assert client.closed_by_server()
    with RawClient.to(server) as client:  # 100 bytes in chunks is fine
        client.send(post_head(b"Transfer-Encoding: chunked")
                    + (b"32\r\n" + b"c" * 50 + b"\r\n") * 2 + b"0\r\n\r\n")
        response = client.response(b"POST")
        assert (response.status, response.body) == (200, b"c" * 100)


def test_body_limit_on_a_declared_chunk_size(plugserve_server: ServerFactory) -> None:
    """A chunk declared larger than the limit is refused at once, before its data is sent."""
    server = plugserve_server(Echo(), max_body_bytes=100)
    for size in (b"65", b"f" * 20):
        with RawClient.to(server) as client:
            client.send(post_head(b"Transfer-Encoding: chunked") + size + b"\r\n")
            assert client.response(b"POST").status == 413
            assert client.closed_by_server()


# -- header_timeout_s ----------------------------------------------------------------------------


def test_header_timeout_with_a_partial_head(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), header_timeout_s=0.3)
    with RawClient.to(server) as client:
        started = time.monotonic()
        client.send(b"GET / HTTP/1.1\r\nHost: a\r\n")
        response = client.response()
        assert response.status == 408
        assert response.closes
        assert client.closed_by_server()
        assert time.monotonic() - started < 3


def test_header_timeout_is_not_reset_by_trickling(plugserve_server: ServerFactory) -> None:
    """A slowloris that sends a byte now and then still times out (unlike Twisted)."""
    server = plugserve_server(Echo(), header_timeout_s=0.4)
    with RawClient.to(server) as client:
        started = time.monotonic()
        client.send(b"GET / HTTP/1.1\r\n")
        for _ in range(40):
            if not client.try_send(b"X"):
                break
            time.sleep(0.05)
        assert client.response().status == 408
        assert time.monotonic() - started < 3


def test_header_timeout_with_nothing_sent(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), header_timeout_s=0.3)
    with RawClient.to(server) as client:
        assert client.closed_by_server(timeout=3), "closed, and without any response"


def test_header_timeout_on_a_kept_alive_connection(plugserve_server: ServerFactory) -> None:
    """After a response, a new partial head gets the header timeout (and its 408)."""
    server = plugserve_server(Echo(), header_timeout_s=0.3, keepalive_timeout_s=5)
    with RawClient.to(server) as client:
        client.send(get())
        assert client.response().status == 200
        client.send(b"GET / HTTP/1.1\r\n")
        assert client.response().status == 408
        assert client.closed_by_server()


# -- body_timeout_s ------------------------------------------------------------------------------


def test_body_timeout(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), body_timeout_s=0.3)
    with RawClient.to(server) as client:
        started = time.monotonic()
        client.send(post_head(b"Content-Length: 10") + b"abc")
        response = client.response(b"POST")
        assert response.status == 408
        assert response.closes
        assert client.closed_by_server()
        assert time.monotonic() - started < 3


def test_body_timeout_restarts_while_the_body_arrives(plugserve_server: ServerFactory) -> None:
    """The body timeout is per read, not per body: a slow but steady upload completes."""
    server = plugserve_server(Echo(), body_timeout_s=0.6)
    with RawClient.to(server) as client:
        client.send(post_head(b"Content-Length: 10"))
        for byte in b"0123456789":
            time.sleep(0.1)
            client.send(bytes([byte]))
        response = client.response(b"POST")
        assert (response.status, response.body) == (200, b"0123456789")


def test_no_timeout_while_the_resource_works(plugserve_server: ServerFactory) -> None:
    """As in Twisted, a request being answered (NOT_DONE_YET) is not timed out."""
    from plugserve import reactor
    from plugserve.server import NOT_DONE_YET

    class Slow(Resource):
        isLeaf = True

        def render_GET(self, request: Request) -> bytes | int:
            def done() -> None:
                request.write(b"late")
                request.finish()

            reactor.callLater(0.6, done)
            return NOT_DONE_YET

    server = plugserve_server(Slow(), header_timeout_s=0.2, body_timeout_s=0.2,
                              keepalive_timeout_s=0.2)
    assert parse_responses(server.raw(good_request()))[0].body == b"late"


# -- keepalive_timeout_s -------------------------------------------------------------------------


def test_keepalive_timeout(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), keepalive_timeout_s=0.3)
    with RawClient.to(server) as client:
        client.send(get())
        assert client.response().status == 200
        client.send(get())  # still open right after a response
        assert client.response().status == 200
        started = time.monotonic()
        assert client.closed_by_server(timeout=3), "idle connection closed, silently"
        assert time.monotonic() - started < 3


# -- max_connections -----------------------------------------------------------------------------


def test_max_connections(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), max_connections=2)
    with RawClient.to(server) as first, RawClient.to(server) as second:
        for client in (first, second):
            client.send(get())
            assert client.response().status == 200
        with RawClient.to(server) as third:
            response = third.response()
            assert response.status == 503
            assert response.closes
            assert third.closed_by_server()
        for client in (first, second):  # the two admitted connections still work
            client.send(get())
            assert client.response().status == 200
    # Once they have gone, there is room again.
    deadline = time.monotonic() + 5
    while True:
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(good_request())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        if statuses(data) == [200]:
            break
        assert statuses(data) == [503]
        assert time.monotonic() < deadline
        time.sleep(0.05)
