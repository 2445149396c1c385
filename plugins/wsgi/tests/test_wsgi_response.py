"""start_response, the write callable, framing, errors and close(), over real sockets."""

from __future__ import annotations

import logging
import sys
import threading

import pytest
from wsgi_support import Client, Tracked, fetch, hello_app, raw


def app_with(status="200 OK", headers=(("Content-Type", "text/plain"),), body=(b"ok",)):
    def app(environ, start_response):
        start_response(status, list(headers))
        return (chunk for chunk in body)  # a generator: streamed, not sent whole
    return app


def test_hello(serve):
    server = serve(hello_app)
    reply = fetch(server, "GET", "/")
    assert (reply.status, reply.body) == (200, b"Hello World!")
    assert reply.header(b"content-type") == b"text/plain"
    # A small list is sent whole, with a Content-Length (PEP 3333 allows the server to add it).
    assert reply.header(b"content-length") == b"12"
    assert (reply.header(b"server") or b"").startswith(b"plugserve/")
    assert reply.header(b"date") is not None


def test_status_reason_is_kept(serve):
    server = serve(app_with("201 Made It"))
    reply = fetch(server, "GET", "/")
    assert (reply.status, reply.reason) == (201, b"Made It")


def test_headers_in_order_with_duplicates(serve):
    headers = [("Content-Type", "text/plain"), ("X-A", "1"), ("Set-Cookie", "a=1"),
               ("Set-Cookie", "b=2"), ("X-A", "2")]
    server = serve(app_with(headers=headers))
    reply = fetch(server, "GET", "/")
    assert reply.all(b"set-cookie") == [b"a=1", b"b=2"]
    assert reply.all(b"x-a") == [b"1", b"2"]


def test_app_date_and_server_win(serve):
    headers = [("Content-Type", "text/plain"), ("Server", "mine/1"),
               ("Date", "Thu, 01 Jan 2015 00:00:00 GMT")]
    reply = fetch(serve(app_with(headers=headers)), "GET", "/")
    assert reply.all(b"server") == [b"mine/1"]
    assert reply.all(b"date") == [b"Thu, 01 Jan 2015 00:00:00 GMT"]


def test_no_default_content_type(serve):
    # 204 is the one status the validator accepts without a Content-Type.
    reply = fetch(serve(app_with("204 No Content", headers=(), body=())), "GET", "/")
    assert reply.status == 204
    assert reply.header(b"content-type") is None
    assert reply.header(b"content-length") is None


def test_streamed_body_is_chunked(serve):
    reply = fetch(serve(app_with(body=(b"a", b"", b"bc", b"d"))), "GET", "/")
    assert (reply.body, reply.chunked) == (b"abcd", True)


def test_app_content_length_frames_the_body(serve):
    headers = [("Content-Type", "text/plain"), ("Content-Length", "4")]
    reply = fetch(serve(app_with(headers=headers, body=(b"ab", b"cd"))), "GET", "/")
    assert (reply.body, reply.chunked, reply.header(b"content-length")) == (b"abcd", False, b"4")


def test_iteration_stops_at_the_declared_length(serve):
    tracked: list[Tracked] = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        tracked.append(Tracked(iter([b"ab", b"cd", b"never asked for"])))
        return tracked[-1]

    with Client(serve(app)) as client:
        assert client.request("GET", "/").body == b"abcd"
        assert client.request("GET", "/").body == b"abcd"  # the connection is still good
    assert [t.produced for t in tracked] == [2, 2]
    assert all(t.closed.wait(10) for t in tracked)


def test_longer_than_content_length_drops_the_connection(serve):
    headers = [("Content-Type", "text/plain"), ("Content-Length", "3")]
    server = serve(app_with(headers=headers, body=(b"ab", b"cd")))
    data = server.raw(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 ")
    assert data.endswith(b"\r\n\r\nab")  # the declared 3 bytes never complete


def test_shorter_than_content_length_drops_the_connection(serve):
    headers = [("Content-Type", "text/plain"), ("Content-Length", "10")]
    server = serve(app_with(headers=headers, body=(b"ab",)))
    data = server.raw(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"\r\n\r\nab")


def test_headers_wait_for_the_first_non_empty_piece(serve):
    """Until the first body byte, start_response may be called again (with exc_info)."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Early", "1")])
        yield b""
        try:
            raise ValueError("changed my mind")
        except ValueError:
            start_response("503 Busy", [("Content-Type", "text/plain")], sys.exc_info())
        yield b"later"

    reply = fetch(serve(app), "GET", "/")
    assert (reply.status, reply.body, reply.header(b"x-early")) == (503, b"later", None)


def test_exc_info_after_headers_reraises_and_drops(serve, caplog):
    seen = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"partial"
        try:
            raise KeyError("boom")
        except KeyError:
            try:
                start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
            except KeyError as exc:
                seen.append(exc)
                raise

    data = serve(app).raw(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 ")
    assert not data.endswith(b"0\r\n\r\n")  # the chunked body never ends: dropped
    assert len(seen) == 1


def test_second_start_response_without_exc_info_is_an_error(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"x"]

    assert fetch(serve(app), "GET", "/").status == 500


def test_write_callable(serve):
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"one ")
        write(b"two ")
        return [b"three"]

    reply = fetch(serve(app), "GET", "/")
    assert (reply.body, reply.chunked) == (b"one two three", True)


def test_head_runs_the_app_and_sends_no_body(serve):
    calls = []

    def app(environ, start_response):
        calls.append(environ["REQUEST_METHOD"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (c for c in [b"x" * 10, b"y" * 5])

    with Client(serve(app)) as client:
        head = client.request("HEAD", "/")
        assert head.status == 200 and head.body == b""
        assert client.request("GET", "/").body == b"x" * 10 + b"y" * 5  # still in sync
    assert calls == ["HEAD", "GET"]


def test_head_keeps_the_app_content_length(serve):
    headers = [("Content-Type", "text/plain"), ("Content-Length", "5")]
    with Client(serve(app_with(headers=headers, body=(b"hello",)))) as client:
        assert client.request("HEAD", "/").header(b"content-length") == b"5"
        assert client.request("GET", "/").body == b"hello"


def test_head_of_a_list_announces_its_length(serve):
    with Client(serve(hello_app)) as client:
        head = client.request("HEAD", "/")
        assert (head.body, head.header(b"content-length")) == (b"", b"12")


@pytest.mark.parametrize("headers", [
    [("Content-Type", "text/plain"), ("Connection", "keep-alive"), ("Keep-Alive", "5"),
     ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c")],
])
def test_hop_by_hop_headers_are_dropped(serve, headers):
    reply = fetch(serve(app_with(headers=headers, body=(b"ab",))), "GET", "/")
    assert reply.body == b"ab"
    for name in (b"keep-alive", b"upgrade", b"connection"):
        assert reply.header(name) is None
    assert reply.all(b"transfer-encoding") == [b"chunked"]  # the server's own, once


def test_connection_close_is_honoured(serve):
    headers = [("Content-Type", "text/plain"), ("Connection", "close")]
    with Client(serve(app_with(headers=headers))) as client:
        reply = client.request("GET", "/")
        assert reply.header(b"connection") == b"close"
        assert client.closed_by_server()


# -- errors ------------------------------------------------------------------------------------


def test_exception_before_start_response_is_a_500(serve, caplog):
    def app(environ, start_response):
        raise ZeroDivisionError("before headers")

    caplog.set_level(logging.ERROR, logger="plugserve")
    with Client(serve(app)) as client:
        reply = client.request("GET", "/")
        assert reply.status == 500
        assert b"Processing Failed" in reply.body  # a body, unlike Twisted's empty one
        assert client.request("GET", "/").status == 500  # the connection survives
    assert "ZeroDivisionError: before headers" in caplog.text
    assert "Traceback" in caplog.text


def test_exception_after_start_response_before_body_is_a_500(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Gone", "1")])
        raise ValueError("no body")
        yield b""

    reply = fetch(serve(app), "GET", "/")
    assert reply.status == 500
    assert reply.header(b"x-gone") is None


def test_display_tracebacks(serve):
    def app(environ, start_response):
        raise ZeroDivisionError("shown")

    reply = fetch(serve(app, display_tracebacks=True), "GET", "/")
    assert reply.status == 500 and b"ZeroDivisionError: shown" in reply.body


def test_exception_after_body_drops_the_connection_and_closes(serve, caplog):
    def chunks():
        yield b"first"
        raise RuntimeError("mid-body")

    tracked = Tracked(chunks())

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return tracked

    caplog.set_level(logging.ERROR, logger="plugserve")
    data = serve(app).raw(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 ") and b"first" in data
    assert not data.endswith(b"0\r\n\r\n")
    # PEP 3333: close() is called even when iteration raises (Twisted skips it).
    assert tracked.closed.wait(10)
    assert "RuntimeError: mid-body" in caplog.text


def test_close_raising_is_an_application_error(serve, caplog):
    class Body:
        def __iter__(self):
            yield b"a"
            yield b"b"

        def close(self):
            raise OSError("close failed")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()

    caplog.set_level(logging.ERROR, logger="plugserve")
    data = serve(app).raw(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 ")
    assert not data.endswith(b"0\r\n\r\n")  # the response never completes
    assert "OSError: close failed" in caplog.text


def test_no_start_response_is_a_500(serve):
    def app(environ, start_response):
        return []

    assert fetch(serve(app), "GET", "/").status == 500


def test_body_that_is_not_bytes_is_a_500(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["text, not bytes"]

    assert fetch(serve(app), "GET", "/").status == 500


@pytest.mark.parametrize("status", ["200", "OK 200", "2000 x", "099 Low", "100 Continue"])
def test_bad_status_is_a_500(serve, status):
    # The validator catches most of these first, which is as good: a 500.
    assert fetch(serve(app_with(status)), "GET", "/").status == 500


@pytest.mark.parametrize("header", [("Bad Name", "v"), ("X-A", "line\r\nX-Injected: 1"),
                                    ("Status", "200"), ("X-A", "\u20ac")])
def test_bad_header_is_a_500(serve, header):
    reply = fetch(serve(app_with(headers=[("Content-Type", "text/plain"), header])), "GET", "/")
    assert reply.status == 500
    assert reply.header(b"x-injected") is None


def test_system_exit_in_the_app_is_a_500(serve, pool):
    def app(environ, start_response):
        sys.exit(3)

    with Client(serve(app)) as client:
        assert client.request("GET", "/").status == 500


def test_wsgi_errors_goes_to_the_log(serve, caplog):
    def app(environ, start_response):
        errors = environ["wsgi.errors"]
        errors.write("first line\nsecond ")
        errors.writelines(["line\n", "unfinished"])
        errors.flush()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    caplog.set_level(logging.ERROR, logger="plugserve.wsgi")
    assert fetch(serve(app), "GET", "/").status == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "plugserve.wsgi"]
    assert lines == ["first line", "second line", "unfinished"]


def test_many_requests_on_one_connection(serve):
    with Client(serve(hello_app)) as client:
        for _ in range(50):
            assert client.request("GET", "/").body == b"Hello World!"


def test_pipelined_requests_answer_in_order(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    server = serve(app)
    with Client(server) as client:
        client.send(b"".join(b"GET /%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(5)))
        assert [client.response().body for _ in range(5)] == [b"/%d" % i for i in range(5)]


def test_raw_reply_helper_reads_one_response(serve):
    assert raw(serve(hello_app), b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").body == b"Hello World!"


def test_add_header_reaches_wsgi_responses(serve):
    """`--add-header` (Site.add_header) adds to the application's headers; in Twisted it made
    every --wsgi request a 500."""
    server = serve(hello_app, add_headers=((b"x-frame-options", b"DENY"),))
    reply = fetch(server, "GET", "/")
    assert (reply.body, reply.header(b"x-frame-options")) == (b"Hello World!", b"DENY")


def test_head_with_an_empty_list_claims_no_length(serve):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [b"twelve bytes"]

    with Client(serve(app)) as client:
        assert client.request("HEAD", "/").header(b"content-length") is None
        assert client.request("GET", "/").header(b"content-length") == b"12"


def test_write_past_the_content_length_raises_in_the_app(serve):
    seen: list[BaseException] = []
    returned = threading.Semaphore(0)

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain"),
                                          ("Content-Length", "3")])
        write(b"abc")  # the response is complete (and may reach the client) here
        try:
            write(b"d")
        except RuntimeError as exc:
            seen.append(exc)
        returned.release()
        return []

    with Client(serve(app)) as client:
        assert client.request("GET", "/").body == b"abc"
        assert client.request("GET", "/").body == b"abc"
    assert returned.acquire(timeout=10) and returned.acquire(timeout=10)
    assert len(seen) == 2
