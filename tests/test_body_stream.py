"""Request bodies read while they arrive (`Resource.stream_request_body`), and what traversing a
request with a body when its head arrives means for the others, over real sockets."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from typing import Any

import pytest
from plugserve.error import RequestBodyError
from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET

from tests.wire import RawClient, ServerFactory

PATTERN = bytes(range(256)) * 256  # 64 KiB


class Digest(Resource):
    """Reads the streamed body in a worker thread, in `size` pieces, and answers its digest."""

    isLeaf = True
    stream_request_body = True

    def __init__(self, size: int = 10_000, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.size = size
        self.gate = gate
        self.errors: list[BaseException] = []
        self.started = threading.Event()
        self.done = threading.Event()

    def render_POST(self, request: Any) -> object:
        loop = request.channel.state.loop

        def work() -> None:
            self.started.set()
            if self.gate is not None:
                self.gate.wait(30)
            digest = hashlib.sha256()
            total = 0
            try:
                while True:
                    data = request.content.blocking.read(self.size)
                    if not data:
                        break
                    total += len(data)
                    digest.update(data)
            except RequestBodyError as exc:
                self.errors.append(exc)
                self.done.set()
                return
            answer = b"%d %s" % (total, digest.hexdigest().encode())
            loop.call_soon_threadsafe(_answer, request, answer)
            self.done.set()

        threading.Thread(target=work, daemon=True).start()
        return NOT_DONE_YET


def _answer(request: Any, body: bytes) -> None:
    request.setHeader(b"content-length", b"%d" % len(body))
    request.write(body)
    request.finish()


def test_a_large_body_is_read_as_it_arrives(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Digest())
    body = PATTERN * 80  # 5 MiB
    conn = server.connection()
    conn.request("POST", "/", body=iter([body[i:i + 65536] for i in range(0, len(body), 65536)]),
                 headers={"Content-Length": str(len(body))})
    response = conn.getresponse()
    assert response.status == 200
    assert response.read() == b"%d %s" % (len(body), hashlib.sha256(body).hexdigest().encode())
    conn.close()


def test_a_chunked_body_streams_and_the_connection_stays_alive(
    plugserve_server: ServerFactory,
) -> None:
    server = plugserve_server(Digest(size=7))
    with RawClient.to(server) as client:
        for _ in range(2):
            client.send(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
            response = client.response(b"POST")
            assert response.status == 200
            assert response.body == b"11 " + hashlib.sha256(b"hello world").hexdigest().encode()


def test_a_slow_reader_stops_the_server_reading_the_socket(
    plugserve_server: ServerFactory,
) -> None:
    """The reader is held back while a 256 MiB body is offered: the client can only push what
    the socket buffers and the stream's window hold, then everything goes through."""
    gate = threading.Event()
    resource = Digest(size=65536, gate=gate)
    total = 256 * 1024 * 1024
    server = plugserve_server(resource, max_body_bytes=total)
    with RawClient.to(server, timeout=30) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % total)
        assert resource.started.wait(10)
        client.sock.setblocking(False)
        sent = 0
        stalled_since = None
        view = memoryview(PATTERN)
        while stalled_since is None or time.monotonic() - stalled_since < 0.5:
            try:
                sent += client.sock.send(view)
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.monotonic()
                time.sleep(0.01)
        assert sent < total // 4, f"the server kept reading: {sent} bytes accepted"
        gate.set()
        client.sock.setblocking(True)
        client.sock.settimeout(60)
        remaining = total - sent
        while remaining:
            piece = view[: min(remaining, len(PATTERN))]
            client.sock.sendall(piece)
            remaining -= len(piece)
        response = client.response(b"POST")
    assert response.status == 200
    assert response.body.split()[0] == b"%d" % total


def test_reading_on_the_event_loop_is_refused_not_a_frozen_server(
    plugserve_server: ServerFactory,
) -> None:
    class OnTheLoop(Resource):
        isLeaf = True
        stream_request_body = True

        def render_POST(self, request: Any) -> bytes:
            return bytes(request.content.blocking.read())

    server = plugserve_server(OnTheLoop())
    response = server.request("POST", "/", body=b"x" * 100)
    assert response.status == 500
    assert server.get("/").status == 405  # still serving


def test_the_reader_learns_when_the_client_leaves(plugserve_server: ServerFactory) -> None:
    resource = Digest()
    server = plugserve_server(resource)
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nhalf")
        assert resource.started.wait(10)
    assert resource.done.wait(10)
    assert len(resource.errors) == 1
    assert isinstance(resource.errors[0], OSError)


def test_a_chunked_body_past_the_limit_fails_the_reader_and_answers_413(
    plugserve_server: ServerFactory,
) -> None:
    resource = Digest()
    server = plugserve_server(resource, max_body_bytes=1000)
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        assert resource.started.wait(10)
        client.try_send(b"800\r\n" + b"x" * 0x800 + b"\r\n")
        assert client.response(b"POST").status == 413
    assert resource.done.wait(10)
    assert resource.errors and "413" in str(resource.errors[0])


class EarlyAnswer(Resource):
    """Answers at once, without reading the body it is streamed."""

    isLeaf = True
    stream_request_body = True

    def render_POST(self, request: Any) -> bytes:
        return b"no thanks"


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_an_answer_before_the_body_ends_drains_it_and_keeps_the_connection(
    plugserve_server: ServerFactory, framing: str,
) -> None:
    server = plugserve_server(EarlyAnswer())
    with RawClient.to(server) as client:
        if framing == "length":
            client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 200000\r\n\r\n")
        else:
            client.send(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        response = client.response(b"POST")
        assert (response.status, response.body) == (200, b"no thanks")
        if framing == "length":
            client.send(b"y" * 200000)
        else:
            client.send(b"30d40\r\n" + b"y" * 200000 + b"\r\n0\r\n\r\n")
        client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert client.response().status == 405


class Tree(Resource):
    """getChild runs when the head arrives for a request with a body."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[bytes] = []

    def getChild(self, path: bytes, request: Any) -> Any:
        if path == b"boom":
            raise ValueError("traversal failed")
        self.seen.append(request.content.read())
        return Echo()


class Echo(Resource):
    isLeaf = True

    def render_POST(self, request: Any) -> bytes:
        return b"%s|%s" % (request.content.read(), b",".join(request.args.get(b"a", [])))


def test_a_buffered_resource_still_gets_its_whole_body_and_form(
    plugserve_server: ServerFactory,
) -> None:
    tree = Tree()
    server = plugserve_server(tree)
    response = server.request("POST", "/x?a=1", body=b"a=2",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (response.status, response.body) == (200, b"a=2|1,2")
    assert tree.seen == [b""]  # traversed before the body arrived (docs: differences)


def test_a_traversal_error_before_the_body_is_a_500_and_the_body_is_drained(
    plugserve_server: ServerFactory,
) -> None:
    server = plugserve_server(Tree())
    with RawClient.to(server) as client:
        client.send(b"POST /boom HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
        assert client.response(b"POST").status == 500
        client.send(b"hello" + b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        assert client.response().status == 405


def test_expect_100_continue_with_a_streamed_body(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Digest())
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                    b"Expect: 100-continue\r\n\r\n")
        assert client.response(b"POST").status == 100
        client.send(b"hello")
        response = client.response(b"POST")
        assert response.body == b"5 " + hashlib.sha256(b"hello").hexdigest().encode()


def test_a_stalled_reader_is_not_a_body_timeout(plugserve_server: ServerFactory) -> None:
    """The client sent everything it could; the app is slow: no 408."""
    gate = threading.Event()
    resource = Digest(size=65536, gate=gate)
    server = plugserve_server(resource, body_timeout_s=0.3)
    body = PATTERN * 64  # 4 MiB: more than the window and the socket buffers hold... mostly
    with RawClient.to(server, timeout=30) as client:
        sender = threading.Thread(
            target=client.sock.sendall,
            args=(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body) + body,),
        )
        sender.start()
        assert resource.started.wait(10)
        time.sleep(1.0)  # several body timeouts long
        gate.set()
        sender.join(30)
        response = client.response(b"POST")
    assert response.status == 200
    assert response.body.split()[0] == b"%d" % len(body)


def test_stream_reads_lines(plugserve_server: ServerFactory) -> None:
    lines: list[Any] = []

    class Lines(Resource):
        isLeaf = True
        stream_request_body = True

        def render_POST(self, request: Any) -> object:
            loop = request.channel.state.loop

            def work() -> None:
                stream = request.content.blocking
                lines.append(stream.readline())
                lines.append(stream.readline(3))
                lines.append(stream.readlines())
                loop.call_soon_threadsafe(_answer, request, b"ok")

            threading.Thread(target=work, daemon=True).start()
            return NOT_DONE_YET

    server = plugserve_server(Lines())
    response = server.request("POST", "/", body=b"one\ntwo\nthree\nfour")
    assert response.body == b"ok"
    assert lines == [b"one\n", b"two", [b"\n", b"three\n", b"four"]]


def test_socket_close_mid_body_with_sender_thread(plugserve_server: ServerFactory) -> None:
    """A client that resets mid-body: the reader fails, the server keeps serving."""
    resource = Digest()
    server = plugserve_server(resource)
    sock = socket.create_connection((server.host, server.port))
    sock.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
    assert resource.started.wait(10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
    assert resource.done.wait(10)
    assert resource.errors
    assert server.get("/").status == 405
