"""Threads and the loop: back-pressure from a slow client, close() when the client leaves, the
loop serving others while applications block, the default pool, and wsgi.file_wrapper."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from wsgiref.validate import validator

import pytest
from plugserve import hookimpl
from plugserve.resource import Resource
from plugserve_wsgi import FileWrapper, ThreadPool, WSGIResource
from plugserve_wsgi._threads import default_executor
from wsgi_support import Client, Tracked, eventually, fetch, hello_app, read_reply

CHUNK = 64 * 1024
#: What a generator could produce for a client that never reads: 1 GiB.
ENDLESS = 16 * 1024


def endless_app(tracked: list[Tracked]):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        tracked.append(Tracked(b"%08d" % i + b"x" * (CHUNK - 8) for i in range(ENDLESS)))
        return tracked[-1]
    return app


def settle(read_count, *, rounds: int = 3, pause: float = 0.2, limit: float = 30) -> int:
    """Wait until a counter stops moving (the producer is blocked), and return it."""
    deadline = time.monotonic() + limit
    last = -1
    steady = 0
    while time.monotonic() < deadline:
        value = read_count()
        steady = steady + 1 if value == last and value > 0 else 0
        if steady >= rounds:
            return value  # type: ignore[no-any-return]
        last = value
        time.sleep(pause)
    raise AssertionError(f"the producer never blocked (at {last})")


def test_slow_client_blocks_the_generator(serve):
    tracked: list[Tracked] = []
    server = serve(endless_app(tracked))
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        blocked_at = settle(lambda: tracked[0].produced if tracked else 0)
        # Kernel buffers on both ends hold a few MiB; the server holds at most its window
        # plus the transport's buffer.  Nowhere near the 1 GiB the generator could make.
        assert blocked_at * CHUNK < 32 * 1024 * 1024, blocked_at
        assert not tracked[0].closed.is_set()
        # Reading lets it go on, and the bytes arrive intact and in order.
        with sock.makefile("rb") as stream:
            assert stream.readline().startswith(b"HTTP/1.1 200")
            while stream.readline() != b"\r\n":
                pass
            expected = 0
            while expected < blocked_at + 50:
                size = int(stream.readline(), 16)
                data = stream.read(size)
                assert stream.read(2) == b"\r\n"
                while data:
                    assert data[:8] == b"%08d" % expected
                    data = data[CHUNK:]
                    expected += 1
        assert tracked[0].produced > blocked_at
    # The client left mid-body: iteration stops and close() is called.
    assert tracked[0].closed.wait(10)
    assert tracked[0].produced < ENDLESS


def test_write_callable_blocks_for_a_slow_client(serve):
    written: list[int] = []
    done = threading.Event()

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
        try:
            for i in range(ENDLESS):
                write(b"w" * CHUNK)
                written.append(i)
        finally:
            done.set()
        return []

    server = serve(app)
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        blocked_at = settle(lambda: len(written))
        assert blocked_at * CHUNK < 32 * 1024 * 1024
    # The client is gone: write() raises in the application, which ends.
    assert done.wait(10)
    assert len(written) < ENDLESS


def test_client_disconnect_before_the_body_closes_the_iterable(serve):
    started = threading.Event()
    release = threading.Event()
    tracked: list[Tracked] = []

    def chunks():
        yield b"first"
        yield b"second"

    def app(environ, start_response):
        started.set()
        release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        tracked.append(Tracked(chunks()))
        return tracked[-1]

    class Watcher:
        """Tells the test when the server has seen the client go."""

        abandoned = threading.Event()

        @hookimpl
        def plugserve_request_finished(self, request):
            if not request.finished:
                self.abandoned.set()

    server = serve(app, plugins=[Watcher()])
    with Client(server) as client:
        client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert started.wait(10)
    assert Watcher.abandoned.wait(10)
    release.set()
    assert eventually(lambda: tracked)
    assert tracked[0].closed.wait(10)
    assert tracked[0].produced <= 1



def test_the_loop_serves_others_while_apps_block(serve):
    """Four requests block in the application (all the pool's threads); a plain resource on
    the same server still answers, and so does the app once released."""
    release = threading.Event()
    waiting = threading.Semaphore(0)

    def blocking_app(environ, start_response):
        waiting.release()
        release.wait(20)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"released"]

    class Plain(Resource):
        isLeaf = True

        def render_GET(self, request):
            return b"loop is free"

    server = serve(blocking_app, mount="app")
    server.site.resource.putChild(b"plain", Plain())
    clients = [Client(server) for _ in range(4)]
    try:
        for client in clients:
            client.send(b"GET /app/ HTTP/1.1\r\nHost: h\r\n\r\n")
        for _ in clients:
            assert waiting.acquire(timeout=10)
        assert fetch(server, "GET", "/plain").body == b"loop is free"
        release.set()
        assert [c.response().body for c in clients] == [b"released"] * 4
    finally:
        for client in clients:
            client.close()


def test_default_pool_and_reactor_argument(plugserve_server):
    from plugserve import reactor

    resource = WSGIResource(reactor, None, validator(hello_app))
    assert resource.executor is default_executor()
    server = plugserve_server(resource)
    assert fetch(server, "GET", "/").body == b"Hello World!"


def test_threadpool_is_twisted_shaped(plugserve_server):
    pool = ThreadPool()
    assert (pool.min, pool.max, pool.started) == (5, 20, False)
    pool.start()
    try:
        server = plugserve_server(WSGIResource(None, pool, validator(hello_app)))
        assert fetch(server, "GET", "/").body == b"Hello World!"
    finally:
        server.close()
        pool.stop()
    assert pool.started is False
    with pytest.raises(RuntimeError):
        pool.submit(print)
    with pytest.raises(ValueError, match="minthreads"):
        ThreadPool(5, 2)


def test_children_are_refused():
    resource = WSGIResource(None, None, hello_app)
    assert resource.isLeaf
    with pytest.raises(RuntimeError):
        resource.putChild(b"x", Resource())
    with pytest.raises(RuntimeError):
        resource.getChildWithDefault(b"x", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        WSGIResource(None, None, "not callable")  # type: ignore[arg-type]


# -- wsgi.file_wrapper -------------------------------------------------------------------------


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)
    path.write_bytes(data)
    return path, data


def file_app(path, *, offset: int = 0, length: int | None = None, via_environ: bool = True):
    def app(environ, start_response):
        f = open(path, "rb")  # noqa: SIM115 - the wrapper closes it
        f.seek(offset)
        headers = [("Content-Type", "application/octet-stream")]
        if length is not None:
            headers.append(("Content-Length", str(length)))
        start_response("200 OK", headers)
        wrapper = environ["wsgi.file_wrapper"] if via_environ else FileWrapper
        return wrapper(f, 32 * 1024)
    return app


@pytest.mark.parametrize("sendfile", [True, False], ids=["sendfile", "fallback"])
def test_file_wrapper(serve, big_file, sendfile):
    path, data = big_file
    with Client(serve(file_app(path), sendfile=sendfile)) as client:
        reply = client.request("GET", "/")
        assert reply.header(b"content-length") == str(len(data)).encode()
        assert hashlib.sha256(reply.body).digest() == hashlib.sha256(data).digest()
        assert client.request("HEAD", "/").header(b"content-length") == str(len(data)).encode()
        assert client.request("GET", "/").body == data  # keep-alive after sendfile


def test_file_wrapper_from_the_current_position(serve, big_file):
    path, data = big_file
    reply = fetch(serve(file_app(path, offset=1000)), "GET", "/")
    assert reply.body == data[1000:]


def test_file_wrapper_with_the_app_content_length(serve, big_file):
    path, data = big_file
    reply = fetch(serve(file_app(path, offset=10, length=100)), "GET", "/")
    assert reply.body == data[10:110]


def test_file_wrapper_without_a_descriptor_is_iterated(serve):
    import io

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"in memory " * 1000), 100)

    assert fetch(serve(app), "GET", "/").body == b"in memory " * 1000


def test_file_wrapper_iterates_for_middleware(big_file):
    path, data = big_file
    wrapper = FileWrapper(open(path, "rb"), 1 << 20)  # noqa: SIM115
    assert b"".join(wrapper) == data
    wrapper.close()
    assert wrapper.filelike.closed


def test_slow_client_of_a_file_over_the_fallback(serve, big_file):
    """Without sendfile the file is read chunk by chunk as the client reads."""
    path, data = big_file
    server = serve(file_app(path), sendfile=False)
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        time.sleep(0.2)
        with sock.makefile("rb") as stream:
            reply = read_reply(stream)
    assert reply.body == data


def test_write_then_file_keeps_the_order(serve, big_file):
    path, data = big_file

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
        write(b"prefix:")
        return environ["wsgi.file_wrapper"](open(path, "rb"))

    reply = fetch(serve(app), "GET", "/")
    assert reply.body == b"prefix:" + data


def test_concurrent_streams_stay_whole(serve):
    """Many threads hand pieces to the loop through one queue; each response stays in order."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        name = environ["PATH_INFO"].encode()
        return (b"%s:%05d;" % (name, i) for i in range(300))

    server = serve(app)
    results: dict[int, bytes] = {}

    def client(n: int) -> None:
        results[n] = fetch(server, "GET", f"/c{n}").body

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for n in range(8):
        assert results[n] == b"".join(b"/c%d:%05d;" % (n, i) for i in range(300))


def test_an_inline_executor_is_refused_not_deadlocked(plugserve_server):
    """An executor that runs work in the calling thread would run the application on the
    loop; waiting there for the loop would hang the server, so it is an error instead."""
    from concurrent.futures import Executor, Future

    class Inline(Executor):
        def submit(self, fn, /, *args, **kwargs):
            future: Future[object] = Future()
            future.set_result(fn(*args, **kwargs))
            return future

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"x" * (256 * 1024))  # more than the window: the thread would wait
        return []

    server = plugserve_server(WSGIResource(None, Inline(), validator(app)))
    data = server.raw(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200")  # the head went out; then the connection dropped
    assert not data.endswith(b"0\r\n\r\n")
    assert server.call(lambda: "alive") == "alive"  # the loop was not blocked
