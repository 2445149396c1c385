"""wsgi.input: PEP 3333 read semantics, never past the declared length."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest
from plugserve_wsgi._input import InputStream
from wsgi_support import Client, eventually, fetch, raw

# -- the stream on its own (the validator allows read(n) only, so the other calls are here) ----


class Trickle(io.RawIOBase):
    """A stream that returns one byte per read, as a network stream may."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(1 if size != 0 else 0)

    def readline(self, size: int | None = -1) -> bytes:
        return self._data.readline(size)


@pytest.mark.parametrize("make", [io.BytesIO, Trickle], ids=["file", "trickle"])
def test_read_never_passes_the_length(make):
    stream = InputStream(make(b"0123456789NEXT REQUEST"), 10)
    assert stream.read(4) == b"0123"
    assert stream.read() == b"456789"
    assert stream.read() == b"" and stream.read(5) == b""


@pytest.mark.parametrize("size", [-1, None])
def test_read_all(size):
    assert InputStream(io.BytesIO(b"abcdefNEXT"), 6).read(size) == b"abcdef"


def test_read_to_the_end_of_a_chunked_body():
    stream = InputStream(io.BytesIO(b"x" * 200_000), None)
    assert stream.read(10) == b"x" * 10
    assert len(stream.read()) == 199_990
    assert stream.read() == b""


def test_readline_variants():
    stream = InputStream(io.BytesIO(b"one\ntwo\nthree\nfourNEXT"), 18)
    assert stream.readline() == b"one\n"
    assert stream.readline(2) == b"tw"
    assert stream.readline(None) == b"o\n"
    assert stream.readline(-1) == b"three\n"
    assert stream.readline() == b"four"  # the declared length ends the last line
    assert stream.readline() == b""


def test_readlines_and_iteration():
    data = b"a\nbb\nccc\ndddd\n"
    assert InputStream(io.BytesIO(data), len(data)).readlines() == [b"a\n", b"bb\n", b"ccc\n",
                                                                     b"dddd\n"]
    assert InputStream(io.BytesIO(data), len(data)).readlines(4) == [b"a\n", b"bb\n"]
    assert list(InputStream(io.BytesIO(data + b"NEXT"), len(data))) == data.splitlines(True)


def test_no_body():
    stream = InputStream(io.BytesIO(b""), 0)
    assert (stream.read(), stream.read(10), stream.readline(), stream.readlines()) == \
        (b"", b"", b"", [])


# -- over the wire -----------------------------------------------------------------------------


def reader_app(environ, start_response):
    """Reads the body in the ways a framework does and reports what each call returned."""
    stream = environ["wsgi.input"]
    steps = [stream.read(3), stream.readline(), stream.readline(4), stream.read(0)]
    steps += list(stream.readlines())  # the validator's readlines() takes no argument
    steps.append(stream.read(1_000_000))  # past the end: nothing, never the next request
    body = json.dumps([s.decode("latin-1") if isinstance(s, bytes) else
                       [x.decode("latin-1") for x in s] for s in steps]).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def test_reads_over_the_wire_and_the_next_request_is_intact(serve):
    server = serve(reader_app)
    body = b"abcdef\nline two\nthree\nfour\n"
    with Client(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                    + b"POST /again HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz")
        first = client.response().json()
        second = client.response().json()
    assert first == ["abc", "def\n", "line", "", " two\n", "three\n", "four\n", ""]
    assert second == ["xyz", "", "", "", ""]


def test_iterating_the_input(serve):
    def app(environ, start_response):
        lines = [line for line in environ["wsgi.input"]]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%d:" % len(lines), *lines]

    reply = raw(serve(app), b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\na\nb\nc\n")
    assert reply.body == b"3:a\nb\nc\n"


def test_chunked_upload_is_read_to_its_end(serve):
    def app(environ, start_response):
        data = b""
        while chunk := environ["wsgi.input"].read(5):
            data += chunk
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [data]

    with Client(serve(app)) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"4\r\nWiki\r\n7\r\npedia i\r\n0\r\n\r\n"
                    b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        assert client.response().body == b"Wikipedia i"
        assert client.response().body == b""


def test_unread_body_does_not_break_the_connection(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ignored the body"]

    with Client(serve(app)) as client:
        assert client.request("POST", "/", b"x" * 300_000).body == b"ignored the body"
        assert client.request("GET", "/").body == b"ignored the body"


# -- bodies that never complete ----------------------------------------------------------------


def counting_app(results, closed, started=None):
    """Reads the whole body in pieces; records what it read, or the error it got.  `started`,
    if given, is set when the app is called."""

    class Body:
        def __iter__(self):
            yield b"never sent"

        def close(self):
            closed.set()

    def app(environ, start_response):
        if started is not None:
            started.set()
        total = 0
        try:
            while data := environ["wsgi.input"].read(8192):
                total += len(data)
        except OSError as exc:
            results.append(exc)
            raise
        results.append(total)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()

    return app


def test_body_over_the_limit_while_streaming(serve):
    results: list[object] = []
    closed = threading.Event()
    started = threading.Event()
    server = serve(counting_app(results, closed, started), max_body_bytes=100_000)
    chunk = b"2000\r\n" + b"x" * 0x2000 + b"\r\n"
    with Client(server) as client:
        # 72 KiB, past the 64 KiB window that starts the application's thread and within the
        # limit: the application must be reading when the limit is passed.  (A body that
        # overruns before the thread starts is answered 413 without calling it at all.)
        client.send(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + chunk * 9)
        assert started.wait(5)
        try:
            for _ in range(11):
                client.send(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert client.response().status == 413
    assert eventually(lambda: results)
    assert isinstance(results[0], OSError)  # plugserve.error.RequestBodyError
    assert not closed.is_set()  # the app raised before returning an iterable


def test_client_gone_mid_upload(serve, caplog):
    results: list[object] = []
    closed = threading.Event()
    caplog.set_level(logging.INFO, logger="plugserve")
    server = serve(counting_app(results, closed))
    with Client(server) as client:  # past 64 KiB, so that the application is started
        client.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 70000)
    assert eventually(lambda: results)
    assert isinstance(results[0], OSError)
    assert eventually(lambda: "not answered" in caplog.text)  # one INFO line...
    assert "Traceback" not in caplog.text  # ...for a client leaving is not a server error



def test_expect_100_continue(serve):
    def app(environ, start_response):
        data = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"got " + data]

    with Client(serve(app)) as client:
        client.send(b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                    b"Expect: 100-continue\r\n\r\n")
        assert client.response().status == 100  # before the body was sent
        client.send(b"hello")
        assert client.response().body == b"got hello"


def test_declared_length_over_the_limit_never_starts_the_app(serve):
    calls: list[str] = []

    def app(environ, start_response):
        calls.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ran"]

    server = serve(app, max_body_bytes=1000)
    with Client(server) as client:
        client.send(b"POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n")
        assert client.response().status == 413
    assert fetch(server, "POST", "/small", b"x" * 1000).body == b"ran"
    assert calls == ["/small"]
