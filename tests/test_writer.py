"""The response writer, sans I/O: RFC 9112's framing rules as a table, run through each HTTP
engine's HTTPConnection (both frame responses with the same ResponseWriter)."""

from __future__ import annotations

import pytest
from plugserve._protocol.engines import connection_class
from plugserve._protocol.errors import InvalidResponse
from plugserve._protocol.h11_engine import BodyEnd, HTTPConnection, RequestHead

# Every test here runs on each HTTP engine (tests/conftest.py).
pytestmark = pytest.mark.each_engine


def answering(engine: str, method: bytes = b"GET", version: bytes = b"1.1",
              client_keep_alive: bool = True) -> HTTPConnection:
    """A connection of `engine` that has received a complete request and owes its response."""
    close = b"" if client_keep_alive else b"Connection: close\r\n"
    conn = connection_class(engine)()
    events = conn.receive_data(b"%s / HTTP/%s\r\nHost: a\r\n%s\r\n" % (method, version, close))
    assert [type(event) for event in events] == [RequestHead, BodyEnd]
    return conn

CASES = [
    # (method, version, client keep-alive, status, headers, body) -> (head must contain,
    #  head must not contain, framed body, keeps the connection)
    pytest.param(b"GET", b"1.1", True, 200, [(b"content-length", b"5")], b"hello",
                 [b"Content-Length: 5"], [b"Transfer-Encoding", b"Connection"], b"hello", True,
                 id="length"),
    pytest.param(b"GET", b"1.1", True, 200, [], b"hello",
                 [b"Transfer-Encoding: chunked"], [b"Content-Length"],
                 b"5\r\nhello\r\n0\r\n\r\n", True, id="chunked"),
    pytest.param(b"GET", b"1.0", True, 200, [], b"hello",
                 [b"Connection: close"], [b"Transfer-Encoding"], b"hello", False,
                 id="http10-close-delimited"),
    pytest.param(b"GET", b"1.1", True, 200,
                 [(b"content-length", b"5"), (b"transfer-encoding", b"chunked")], b"hello",
                 [b"Transfer-Encoding: chunked"], [b"Content-Length"],
                 b"5\r\nhello\r\n0\r\n\r\n", True, id="te-wins-over-cl"),
    pytest.param(b"HEAD", b"1.1", True, 200, [(b"content-length", b"5")], b"",
                 [b"Content-Length: 5"], [b"Transfer-Encoding"], b"", True, id="head"),
    pytest.param(b"GET", b"1.1", True, 304, [(b"content-length", b"5")], b"",
                 [b"Content-Length: 5"], [b"Transfer-Encoding"], b"", True, id="304"),
    pytest.param(b"GET", b"1.1", True, 204, [(b"content-length", b"0")], b"",
                 [], [b"Content-Length", b"Transfer-Encoding"], b"", True, id="204"),
    pytest.param(b"GET", b"1.1", False, 200,
                 [(b"content-length", b"2"), (b"connection", b"keep-alive")], b"ok",
                 [b"Connection: close"], [b"keep-alive"], b"ok", False,
                 id="client-close-overrides"),
    pytest.param(b"GET", b"1.1", True, 200,
                 [(b"content-length", b"2"), (b"connection", b"close")], b"ok",
                 [b"Connection: close"], [], b"ok", False, id="server-close"),
]


@pytest.mark.parametrize(
    ("method", "version", "client_keep_alive", "status", "headers", "body", "present",
     "absent", "framed", "keeps"),
    CASES,
)
def test_framing(http_engine, method, version, client_keep_alive, status, headers, body, present,
                 absent, framed, keeps):
    conn = answering(http_engine, method, version, client_keep_alive)
    head = conn.send_head(status, b"X", headers)
    assert head.startswith(b"HTTP/1.1 %d X\r\n" % status) and head.endswith(b"\r\n\r\n")
    for text in present:
        assert text in head
    for text in absent:
        assert text not in head
    assert head.lower().count(b"\r\nconnection:") <= 1
    assert conn.send_body(body) + conn.send_end() == framed
    assert conn.keep_alive is keeps


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([(b"x", b"a\r\nInjected: 1")], b"OK"),
        ([(b"bad name", b"v")], b"OK"),
        ([(b"x", b" leading")], b"OK"),
        ([(b"content-length", b"5"), (b"content-length", b"6")], b"OK"),
        ([(b"transfer-encoding", b"gzip")], b"OK"),
        ([], b"OK\r\nInjected: 1"),
        ([(b"x", b"a\rb")], b"OK"),
        ([(b"x", b"a\nb")], b"OK"),
        ([(b"x", b"a\x00b")], b"OK"),
        ([(b"x", b"a\x7fb")], b"OK"),
        ([(b"x", b"\tleading")], b"OK"),
        ([(b"x", b"trailing ")], b"OK"),
        ([(b"x", b"trailing\t")], b"OK"),
        ([(b"x", b"fine"), (b"y", b"a\x1bb")], b"OK"),
        ([], b"O\x00K"),
    ],
)
def test_unsafe_heads_are_refused(http_engine, headers, reason):
    with pytest.raises(InvalidResponse):
        answering(http_engine).send_head(200, reason, headers)


def test_a_refused_name_is_refused_every_time(http_engine):
    """Valid names' line prefixes are cached; a refused name must never be."""
    for _ in range(2):
        with pytest.raises(InvalidResponse, match="illegal header name"):
            answering(http_engine).send_head(200, b"OK", [(b"bad name", b"v")])
    head = answering(http_engine).send_head(200, b"OK", [(b"x-ok", b"1"), (b"x-ok", b"2")])
    assert b"\r\nX-Ok: 1\r\nX-Ok: 2\r\n" in head


@pytest.mark.parametrize(
    "value", [b"a:  b", b"a: \tb", b"tab\tinside", b"obs-text \xe9", b"\"quoted,  spaced\""]
)
def test_valid_values_that_look_suspect_in_the_whole_head_are_sent(http_engine, value):
    head = answering(http_engine).send_head(200, b"OK", [(b"x-test", value)])
    assert b"\r\nX-Test: " + value + b"\r\n" in head


def test_content_length_is_enforced_both_ways(http_engine):
    conn = answering(http_engine)
    conn.send_head(200, b"OK", [(b"content-length", b"4")])
    with pytest.raises(InvalidResponse, match="Too much"):
        conn.send_body(b"12345")
    short = answering(http_engine)
    short.send_head(200, b"OK", [(b"content-length", b"4")])
    short.send_body(b"12")
    with pytest.raises(InvalidResponse, match="Too little"):
        short.send_end()
