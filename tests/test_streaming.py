"""Request bodies read on the event loop while they arrive (issue 13 §2), over real sockets:
coroutine reads and iteration, back-pressure with a bounded window (`--stream-window`), and
`100 Continue` sent only when the resource starts to read."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
import time
from typing import Any, cast

import pytest
from plugserve import hookimpl
from plugserve.error import RequestBodyError
from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET, Request
from plugserve.testing import eventually
from plugserve_wsgi import WSGIResource

from tests.wire import RawClient, ServerFactory

pytestmark = pytest.mark.each_engine

PATTERN = bytes(range(256)) * 256  # 64 KiB
#: The most asyncio's selector transport reads from a socket at once: the window's overshoot.
ONE_READ = 256 * 1024


class Gate:
    """An asyncio.Event of the server's loop that the test thread opens."""

    def __init__(self) -> None:
        self.event: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting = threading.Event()

    async def wait(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        self.waiting.set()
        await self.event.wait()

    def open(self) -> None:
        assert self.waiting.wait(10)
        assert self.loop is not None and self.event is not None
        self.loop.call_soon_threadsafe(self.event.set)


class AsyncDigest(Resource):
    """Reads the body on the loop in `size` pieces (after `gate`, pausing `delay` s per read)
    and answers its length and digest; records the most bytes it ever found waiting."""

    isLeaf = True
    stream_request_body = True

    def __init__(self, size: int = 65536, delay: float = 0.0, gate: Gate | None = None) -> None:
        super().__init__()
        self.size, self.delay, self.gate = size, delay, gate
        self.peak = 0
        self.stream: Any = None
        self.errors: list[BaseException] = []

    async def render_POST(self, request: Request) -> bytes:
        stream = self.stream = cast(Any, request.content)
        if self.gate is not None:
            await self.gate.wait()
        digest = hashlib.sha256()
        total = 0
        try:
            while True:
                self.peak = max(self.peak, stream.buffered)
                data = await stream.read(self.size)
                if not data:
                    break
                total += len(data)
                digest.update(data)
                if self.delay:
                    await asyncio.sleep(self.delay)
        except RequestBodyError as exc:
            self.errors.append(exc)
            raise
        return b"%d %s" % (total, digest.hexdigest().encode())


def _push_until_stalled(sock: socket.socket, limit: int) -> int:
    """Send the pattern without blocking until the server stops taking bytes (0.5 s without
    progress) or `limit` bytes went out; returns the bytes sent."""
    sock.setblocking(False)
    sent = 0
    stalled_since: float | None = None
    view = memoryview(PATTERN)
    while sent < limit and (stalled_since is None or time.monotonic() - stalled_since < 0.5):
        try:
            start = sent % len(view)
            sent += sock.send(view[start: start + min(len(view) - start, limit - sent)])
            stalled_since = None
        except BlockingIOError:
            stalled_since = stalled_since or time.monotonic()
            time.sleep(0.01)
    sock.setblocking(True)
    return sent


def _send_pattern(sock: socket.socket, count: int, offset: int = 0) -> None:
    """Send `count` bytes of the repeated pattern, from `offset` into it."""
    view = memoryview(PATTERN)
    while count:
        start = offset % len(view)
        piece = view[start: start + min(count, len(view) - start)]
        sock.sendall(piece)
        count -= len(piece)
        offset += len(piece)


def _digest_of_pattern(total: int) -> bytes:
    digest = hashlib.sha256()
    whole, rest = divmod(total, len(PATTERN))
    for _ in range(whole):
        digest.update(PATTERN)
    digest.update(PATTERN[:rest])
    return b"%d %s" % (total, digest.hexdigest().encode())


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# -- reading ----------------------------------------------------------------------------------


def test_async_reads_get_the_whole_body(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(AsyncDigest(size=7000))
    body = PATTERN * 20
    response = server.request("POST", "/", body=body)
    assert response.body == b"%d %s" % (len(body), hashlib.sha256(body).hexdigest().encode())


def test_async_iteration_readline_and_readexactly(plugserve_server: ServerFactory) -> None:
    class Parts(Resource):
        isLeaf = True
        stream_request_body = True

        async def render_POST(self, request: Request) -> bytes:
            content: Any = request.content
            first = await content.readline()
            exact = await content.readexactly(4)
            rest = [chunk async for chunk in content]
            try:
                await content.readexactly(1)
            except asyncio.IncompleteReadError as exc:
                tail = b"incomplete:%r" % exc.partial
            return b"|".join([first, exact, b"".join(rest), tail,
                              b"%d" % content.at_eof()])

    server = plugserve_server(Parts())
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"6\r\nline\nA\r\n")
        client.send(b"5\r\nBCDef\r\n3\r\ngh\n\r\n0\r\n\r\n")
        response = client.response(b"POST")
    assert response.body == b"line\n|ABCD|efgh\n|incomplete:b''|1"


def test_a_spooled_resource_still_gets_a_file(plugserve_server: ServerFactory) -> None:
    class Spooled(Resource):
        isLeaf = True

        def render_POST(self, request: Request) -> bytes:
            return b"%s %d" % (type(request.content).__name__.encode(), request.content.tell())

    response = plugserve_server(Spooled()).request("POST", "/", body=b"x" * 200_000)
    assert response.body == b"SpooledTemporaryFile 0"


def test_the_reader_gets_an_error_when_the_client_leaves(plugserve_server: ServerFactory) -> None:
    gate = Gate()
    resource = AsyncDigest(gate=gate)
    server = plugserve_server(resource)
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nhalf")
        assert gate.waiting.wait(10)
    assert eventually(lambda: server.call(lambda: resource.stream.closed or
                                          resource.stream._error is not None))
    gate.open()
    assert server.get("/").status == 405  # still serving


# -- back-pressure ----------------------------------------------------------------------------


def test_a_200_mb_upload_to_a_slow_reader_holds_a_bounded_window(
    plugserve_server: ServerFactory,
) -> None:
    """The reader takes 64 KiB a millisecond or so, the client pushes as fast as it can: the
    server never holds more than the window plus one socket read, and the process does not
    grow by anything like the body."""
    total = 200 * 1024 * 1024
    resource = AsyncDigest(size=65536, delay=0.0005)
    server = plugserve_server(resource, max_body_bytes=total)
    before = _rss_kib()
    with RawClient.to(server, timeout=120) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % total)
        _send_pattern(client.sock, total)
        response = client.response(b"POST")
    assert response.status == 200
    assert response.body == _digest_of_pattern(total)
    window = server.config.stream_window_bytes
    assert window < resource.peak <= window + ONE_READ, resource.peak
    assert _rss_kib() - before < 64 * 1024, "the server buffered the body"


@pytest.mark.parametrize("window", [16 * 1024, 1024 * 1024])
def test_the_stream_window_is_what_the_server_holds(
    plugserve_server: ServerFactory, window: int,
) -> None:
    """A reader that does not read yet: the server takes the window (and at most one more
    socket read), then stops reading; the client's bytes wait in the socket buffers."""
    gate = Gate()
    resource = AsyncDigest(gate=gate)
    total = 64 * 1024 * 1024
    server = plugserve_server(resource, max_body_bytes=total, stream_window_bytes=window)
    with RawClient.to(server, timeout=60) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % total)
        assert gate.waiting.wait(10)
        sent = _push_until_stalled(client.sock, total)
        assert sent < total // 4, f"the server kept reading: {sent} bytes accepted"
        held = server.call(lambda: resource.stream.buffered)
        assert window < held <= window + ONE_READ, held
        gate.open()
        _send_pattern(client.sock, total - sent, offset=sent)
        response = client.response(b"POST")
    assert response.body == _digest_of_pattern(total)


def test_the_stream_window_flag_reaches_the_config() -> None:
    from plugserve._plugins import make_plugin_manager
    from plugserve.cli import build_parser, config_from_args

    parser = build_parser(make_plugin_manager())
    assert config_from_args(parser.parse_args(["--stream-window", "1M"])
                            ).stream_window_bytes == 1024 * 1024
    assert config_from_args(parser.parse_args([])).stream_window_bytes == 64 * 1024


# -- 100 Continue -----------------------------------------------------------------------------

EXPECT = b"Expect: 100-continue\r\n"


def _nothing_received(client: RawClient) -> bool:
    """True when no byte from the server waits in the socket (anything written on the loop
    before this point has reached it: loopback delivers within the write)."""
    client.sock.setblocking(False)
    try:
        return client.sock.recv(1, socket.MSG_PEEK) == b""  # b"": closed, not silent
    except BlockingIOError:
        return True
    finally:
        client.sock.setblocking(True)


class Picky(Resource):
    """Answers 401 without credentials, 413 past 1000 bytes, 417 to an X-Mode of "no", all
    before reading; reads (and echoes) the body otherwise."""

    isLeaf = True
    stream_request_body = True

    async def render_POST(self, request: Request) -> bytes:
        if request.getHeader(b"authorization") is None:
            request.setResponseCode(401)
            return b"who are you?"
        if int(request.getHeader(b"content-length") or 0) > 1000:
            request.setResponseCode(413)
            return b"too big"
        if request.getHeader(b"x-mode") == b"no":
            request.setResponseCode(417)
            return b"no expectations"
        content: Any = request.content
        return b"got " + bytes(await content.read())


@pytest.mark.parametrize(("headers", "status"), [
    (b"Content-Length: 5\r\n", 401),
    (b"Authorization: x\r\nContent-Length: 5000\r\n", 413),
    (b"Authorization: x\r\nX-Mode: no\r\nContent-Length: 5\r\n", 417),
])
def test_an_answer_before_reading_sends_no_100(
    plugserve_server: ServerFactory, headers: bytes, status: int,
) -> None:
    server = plugserve_server(Picky())
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\n" + EXPECT + headers + b"\r\n")
        assert client.response(b"POST").status == status  # the first response, no 100 first
    with RawClient.to(server) as client:  # a client that sends the body anyway: dropped
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\n" + EXPECT + headers + b"\r\n")
        assert client.response(b"POST").status == status
        length = 5000 if status == 413 else 5
        client.send(b"y" * length + b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert client.response().status == 405


def test_100_continue_goes_out_at_the_first_read(plugserve_server: ServerFactory) -> None:
    gate = Gate()
    server = plugserve_server(AsyncDigest(gate=gate), body_timeout_s=0.2)
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n" + EXPECT + b"\r\n")
        assert gate.waiting.wait(10)  # rendered, not reading yet
        assert _nothing_received(client)
        time.sleep(0.5)  # longer than the body timeout: the client is not late, it waits
        assert _nothing_received(client)
        gate.open()
        assert client.response(b"POST").status == 100
        client.send(b"hello")
        response = client.response(b"POST")
    assert response.body == b"5 " + hashlib.sha256(b"hello").hexdigest().encode()


def test_a_relay_sends_100_itself(plugserve_server: ServerFactory) -> None:
    """A proxy passes Expect on: it reads without the server's own 100 (auto_continue off)
    and sends the 100 when its upstream does (here: when the gate opens)."""
    gate = Gate()
    seen: list[bool] = []

    class Relay(Resource):
        isLeaf = True
        stream_request_body = True

        async def render_POST(self, request: Request) -> bytes:
            content: Any = request.content
            content.auto_continue = False
            reading = asyncio.ensure_future(content.read())
            await asyncio.sleep(0)  # the read has begun: it sent nothing
            await gate.wait()
            seen.append(content.expect_continue)
            content.send_continue()
            seen.append(content.expect_continue)
            return b"relayed " + bytes(await reading)

    server = plugserve_server(Relay())
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n" + EXPECT + b"\r\n")
        assert gate.waiting.wait(10)
        assert _nothing_received(client)
        gate.open()
        assert client.response(b"POST").status == 100
        client.send(b"hello")
        assert client.response(b"POST").body == b"relayed hello"
    assert seen == [True, False]


def test_a_spooled_resource_gets_100_then_its_body(plugserve_server: ServerFactory) -> None:
    class Echo(Resource):
        isLeaf = True

        def render_POST(self, request: Request) -> bytes:
            return request.content.read()

    server = plugserve_server(Echo())
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n" + EXPECT + b"\r\n")
        assert client.response(b"POST").status == 100
        client.send(b"hello")
        assert client.response(b"POST").body == b"hello"


def test_wsgi_sends_100_at_the_first_wsgi_input_read(plugserve_server: ServerFactory) -> None:
    reads = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ.get("HTTP_AUTHORIZATION") is None:
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b"who are you?"]
        reads.set()
        data = environ["wsgi.input"].read(5)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"got " + data]

    server = plugserve_server(WSGIResource(None, None, app))
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n" + EXPECT + b"\r\n")
        assert client.response(b"POST").status == 401
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nAuthorization: x\r\n"
                    + EXPECT + b"\r\n")
        assert client.response(b"POST").status == 100
        assert reads.is_set()
        client.send(b"hello")
        assert client.response(b"POST").body == b"got hello"


def test_reads_on_a_thread_and_on_the_loop_are_told_apart(plugserve_server: ServerFactory) -> None:
    errors: list[str] = []

    class Mixed(Resource):
        isLeaf = True
        stream_request_body = True

        def render_POST(self, request: Request) -> object:
            content: Any = request.content
            loop = asyncio.get_running_loop()

            def work() -> None:
                try:
                    asyncio.run(content.read())
                except RuntimeError as exc:
                    errors.append(str(exc))
                data = content.blocking.read()
                loop.call_soon_threadsafe(_finish, request, data)

            threading.Thread(target=work, daemon=True).start()
            return NOT_DONE_YET

    response = plugserve_server(Mixed()).request("POST", "/", body=b"abc")
    assert response.body == b"abc"
    assert errors and "request.content.blocking" in errors[0]


def _finish(request: Request, data: bytes) -> None:
    request.write(data)
    request.finish()


# -- plugserve_request_started ----------------------------------------------------------------


def test_request_started_runs_when_the_head_has_arrived(plugserve_server: ServerFactory) -> None:
    """The hook's documented contract: the head is in, the body may still be arriving."""
    started = threading.Event()
    bodies: list[bytes] = []

    class Started:
        @hookimpl
        def plugserve_request_started(self, request: Request) -> None:
            bodies.append(request.content.read())
            started.set()

    class Echo(Resource):
        isLeaf = True

        def render_POST(self, request: Request) -> bytes:
            return request.content.read()

    server = plugserve_server(Echo(), plugins=[Started()])
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
        assert started.wait(10)  # before any of the body was sent
        client.send(b"hello")
        assert client.response(b"POST").body == b"hello"
    assert bodies == [b""]
