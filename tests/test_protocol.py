"""HTTP/1.x on the wire: a golden table of raw requests, then the normal behaviours.

Every row of shared/reference/h11-gaps.md is a row of REQUESTS: the raw bytes, the status the
server must answer, and whether it must close the connection afterwards.  The table test sends
the row followed by a good request in the same send: a row that keeps the connection open must
then get that second request answered; a row that closes must not (nothing after a framing error
is trusted, so a smuggled request is never served).
"""

from __future__ import annotations

import time

import pytest
from plugserve import reactor
from plugserve.error import ConnectionLost
from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET, Request
from plugserve.testing import eventually

from tests.wire import RawClient, RawResponse, ServerFactory, good_request, parse_responses

# Every test here runs on each HTTP engine (tests/conftest.py).
pytestmark = pytest.mark.each_engine

MAX_BODY = 1000


class Echo(Resource):
    """GET /: b"hello"; GET /header/NAME: that request header; GET /stream: three writes
    over three loop turns; POST: the body back; OPTIONS: b"options"."""

    isLeaf = True

    def render_GET(self, request: Request) -> bytes | int:
        path = request.path
        if path.startswith(b"/header/"):
            value = request.getHeader(path[len(b"/header/"):])
            return b"<none>" if value is None else value
        if path == b"/stream":
            parts = [b"one", b"two", b"three"]

            def step() -> None:
                if parts:
                    request.write(parts.pop(0))
                    reactor.callLater(0, step)
                else:
                    request.finish()

            step()
            return NOT_DONE_YET
        if path == b"/close":
            request.setHeader(b"connection", b"close")
        return b"hello" if path in (b"/", b"/close") else path

    def render_POST(self, request: Request) -> bytes | int:
        return request.content.read()

    def render_OPTIONS(self, request: Request) -> bytes | int:
        return b"options"


def H(*lines: bytes, body: bytes = b"", start: bytes = b"GET / HTTP/1.1") -> bytes:
    """A request: `start`, then header lines, a blank line and `body`."""
    return b"\r\n".join((start, *lines)) + b"\r\n\r\n" + body


def post(*lines: bytes, body: bytes = b"") -> bytes:
    return H(b"Host: a", *lines, body=body, start=b"POST / HTTP/1.1")


def chunked(body: bytes) -> bytes:
    return post(b"Transfer-Encoding: chunked", body=body)


KEEP, CLOSE = False, True

REQUESTS = [
    # -- Content-Length ------------------------------------------------------------------------
    pytest.param(post(b"Content-Length: 5", b"Transfer-Encoding: chunked", body=b"0\r\n\r\n"),
                 400, CLOSE, id="cl-and-te"),
    pytest.param(post(b"Transfer-Encoding: chunked", b"Content-Length: 5", body=b"0\r\n\r\n"),
                 400, CLOSE, id="te-and-cl"),
    pytest.param(post(b"Content-Length: 5", b"X: y", b"Transfer-Encoding:", b" chunked",
                      body=b"0\r\n\r\n"), 400, CLOSE, id="cl-and-folded-te"),
    pytest.param(post(b"Content-Length: 5", b"Content-Length: 6", body=b"hello!"),
                 400, CLOSE, id="cl-two-different"),
    pytest.param(post(b"Content-Length: 0, 5", body=b"hello"), 400, CLOSE, id="cl-list-different"),
    pytest.param(post(b"Content-Length: 5", b"Content-Length: 5", body=b"hello"),
                 200, KEEP, id="cl-same-twice"),
    pytest.param(post(b"Content-Length: 5, 5", body=b"hello"), 200, KEEP, id="cl-list-same"),
    pytest.param(post(b"Content-Length: 05", body=b"hello"), 200, KEEP, id="cl-leading-zero"),
    *[
        pytest.param(post(b"Content-Length: " + value, body=b"hello"), 400, CLOSE, id=f"cl-{name}")
        for name, value in [
            ("plus", b"+5"), ("minus", b"-1"), ("hex", b"0x5"), ("underscore", b"5_0"),
            ("empty", b""), ("suffix", b"5Z"), ("21-digits", b"1" * 21), ("space-inside", b"5 5"),
        ]
    ],
    pytest.param(post(b"Content-Length: " + b"9" * 20, body=b"hello"),
                 413, CLOSE, id="cl-20-digits-over-limit"),
    pytest.param(post(b"Content-Length: %d" % (MAX_BODY + 1)), 413, CLOSE, id="cl-over-limit"),
    # -- Transfer-Encoding ---------------------------------------------------------------------
    *[
        pytest.param(post(b"Transfer-Encoding: " + value, body=b"0\r\n\r\n"), 501, CLOSE,
                     id=f"te-{name}")
        for name, value in [
            ("identity", b"identity"), ("chunked-identity", b"chunked, identity"),
            ("gzip-chunked", b"gzip, chunked"), ("leading-comma", b",chunked"),
            ("xchunked", b"xchunked"),
        ]
    ],
    pytest.param(post(b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked",
                      body=b"0\r\n\r\n"), 501, CLOSE, id="te-twice"),
    pytest.param(post(b"Transfer-Encoding: CHUNKED ", body=b"2\r\nhi\r\n0\r\n\r\n"),
                 200, KEEP, id="te-case-and-ows"),
    pytest.param(H(b"Host: a", b"Transfer-Encoding: chunked", body=b"2\r\nhi\r\n0\r\n\r\n",
                   start=b"POST / HTTP/1.0"), 400, CLOSE, id="te-on-http10"),
    # -- chunk framing -------------------------------------------------------------------------
    *[
        pytest.param(chunked(size + b"\r\nhello\r\n0\r\n\r\n"), 400, CLOSE, id=f"chunk-{name}")
        for name, size in [
            ("0x", b"0x5"), ("plus", b"+5"), ("minus", b"-5"), ("underscore", b"5_0"),
            ("leading-space", b" 5"), ("empty", b""), ("21-hex-digits", b"1" * 21),
        ]
    ],
    pytest.param(chunked(b"f" * 20 + b"\r\n"), 413, CLOSE, id="chunk-20-hex-digits"),
    pytest.param(chunked(b"%x\r\n" % (MAX_BODY + 1)), 413, CLOSE, id="chunk-over-limit"),
    pytest.param(chunked(b"200\r\n" + b"x" * 512 + b"\r\n200\r\n" + b"x" * 512 + b"\r\n"),
                 413, CLOSE, id="chunks-add-up-over-limit"),
    pytest.param(chunked(b"5\r\nhelloXX0\r\n\r\n"), 400, CLOSE, id="chunk-no-crlf-after-data"),
    pytest.param(chunked(b"5\r\nhello\n0\r\n\r\n"), 400, CLOSE, id="chunk-bare-lf-after-data"),
    pytest.param(chunked(b"5;a\nb\r\nhello\r\n0\r\n\r\n"), 400, CLOSE, id="chunk-ext-lf"),
    # Lax chunk-size lines that a front proxy may frame otherwise (issue 12, item 9): 400.
    *[
        pytest.param(chunked(line + b"\r\nhello\r\n0\r\n\r\n"), 400, CLOSE, id=f"chunk-{name}")
        for name, line in [
            ("size-trailing-space", b"5 "), ("size-trailing-tab", b"5\t"),
            ("ext-bare-cr", b"5;a\rb"), ("ext-nul", b"5;a\x00"), ("ext-ctl", b"5;a=\x01"),
            ("ext-del", b"5;a\x7f"), ("ext-space-in-name", b"5;a b"), ("ext-empty", b"5;"),
            ("space-before-ext", b"5 ;a"),
            ("line-too-long", b"5;a=" + b"b" * 1024), ("bare-cr-before-lf", b"5\r\r"),
        ]
    ],
    pytest.param(chunked(b"5\nhello\r\n0\r\n\r\n"), 400, CLOSE, id="chunk-size-bare-lf"),
    pytest.param(chunked(b'5; a = "b\\"c" ;d\r\nhello\r\n0\r\n\r\n'), 200, KEEP,
                 id="chunk-ext-bws-and-quoted-pair"),
    pytest.param(chunked(b"5;a=" + b"b" * 1000 + b"\r\nhello\r\n0\r\n\r\n"), 200, KEEP,
                 id="chunk-line-at-limit"),
    pytest.param(chunked(b"5;name=value\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n"),
                 200, KEEP, id="chunk-ext-and-trailer"),
    # -- request line --------------------------------------------------------------------------
    pytest.param(H(b"Host: a", start=b"GET / HTTP/2.0"), 505, CLOSE, id="http-2.0"),
    pytest.param(H(b"Host: a", start=b"GET / HTTP/9.9"), 505, CLOSE, id="http-9.9"),
    pytest.param(H(b"Host: a", start=b"GET / HTTP/1.2"), 200, KEEP, id="http-1.2-as-1.1"),
    pytest.param(H(b"Host: a", start=b"GET / HTTP/1.32"), 400, CLOSE, id="http-1.32"),
    pytest.param(H(b"Host: a", start=b"GET / http/1.1"), 400, CLOSE, id="http-lowercase"),
    pytest.param(b"GET /\r\n\r\n", 400, CLOSE, id="http-0.9"),
    pytest.param(H(b"Host: a", start=b"GET  / HTTP/1.1"), 400, CLOSE, id="two-spaces"),
    pytest.param(H(b"Host: a", start=b"GET\n/ HTTP/1.1"), 400, CLOSE, id="lf-in-request-line"),
    pytest.param(H(b"Host: a", start=b"G(T / HTTP/1.1"), 400, CLOSE, id="method-not-token"),
    pytest.param(H(b"Host: a", start=b"GET /\x80 HTTP/1.1"), 400, CLOSE, id="target-obs-text"),
    pytest.param(H(b"Host: a", start=b"GET /\x7f HTTP/1.1"), 400, CLOSE, id="target-del"),
    pytest.param(H(b"Host: a", start=b"GET /\x00 HTTP/1.1"), 400, CLOSE, id="target-nul"),
    pytest.param(H(b"Host: a", start=b"GET /<\"x\"> HTTP/1.1"), 200, KEEP, id="target-quotes"),
    pytest.param(H(b"Host: a", start=b"GET * HTTP/1.1"), 400, CLOSE, id="asterisk-get"),
    pytest.param(H(b"Host: a", start=b"OPTIONS * HTTP/1.1"), 200, KEEP, id="asterisk-options"),
    pytest.param(H(b"Host: a:80", start=b"GET a:80 HTTP/1.1"), 400, CLOSE, id="authority-get"),
    pytest.param(H(b"Host: a:443", start=b"CONNECT a:443 HTTP/1.1"), 405, KEEP,
                 id="authority-connect"),
    pytest.param(H(b"Host: a", start=b"GET http://a/ HTTP/1.1"), 200, KEEP, id="absolute-form"),
    pytest.param(H(b"Host: a", start=b"GET /" + b"x" * 9000 + b" HTTP/1.1"), 414, CLOSE,
                 id="request-line-too-long"),
    # -- Host ----------------------------------------------------------------------------------
    *[
        pytest.param(H(b"Host: " + value), 400, CLOSE, id=f"host-{name}")
        for name, value in [
            ("space", b"a b"), ("angle", b"<x>"), ("slash", b"a/b"), ("userinfo", b"u@a"),
            ("two-colons", b"a:1:2"), ("obs-text", b"\xff"), ("port-not-digits", b"a:8x"),
            ("bracket-unclosed", b"[::1"),
        ]
    ],
    *[
        pytest.param(H(b"Host: " + value), 200, KEEP, id=f"host-ok-{name}")
        for name, value in [
            ("name-port", b"example.com:8080"), ("ipv6", b"[::1]:8080"), ("empty", b""),
        ]
    ],
    pytest.param(H(), 400, CLOSE, id="host-missing-http11"),
    pytest.param(H(b"Host: a", b"Host: b"), 400, CLOSE, id="host-twice"),
    pytest.param(H(start=b"GET / HTTP/1.0"), 200, CLOSE, id="host-missing-http10"),
    # -- header lines --------------------------------------------------------------------------
    pytest.param(b"GET / HTTP/1.1\nHost: a\n\n", 200, KEEP, id="bare-lf"),
    pytest.param(b"POST / HTTP/1.1\nHost: a\nFoo: x\nContent-Length: 5\n\nhello", 200, KEEP,
                 id="bare-lf-before-content-length"),
    pytest.param(H(b"Host: a", b"X: a", b" b"), 200, KEEP, id="obs-fold"),
    pytest.param(H(b" X: a", b"Host: a"), 400, CLOSE, id="first-header-folded"),
    pytest.param(H(b"Host: a", b"X : a"), 400, CLOSE, id="space-before-colon"),
    pytest.param(H(b"Host: a", b"X\t: a"), 400, CLOSE, id="tab-before-colon"),
    pytest.param(H(b"Host: a", b": a"), 400, CLOSE, id="empty-name"),
    pytest.param(H(b"Host: a", b"X(y): a"), 400, CLOSE, id="name-not-token"),
    pytest.param(H(b"Host: a", b"no colon"), 400, CLOSE, id="no-colon"),
    pytest.param(H(b"Host: a", b"X: a\x00b"), 400, CLOSE, id="nul-in-value"),
    pytest.param(H(b"Host: a", b"X: a\rb"), 400, CLOSE, id="cr-in-value"),
    pytest.param(H(b"Host: a", b"X: a\r"), 400, CLOSE, id="cr-before-crlf"),
    pytest.param(H(b"Host: a", b"X: caf\xe9\ttab"), 200, KEEP, id="obs-text-and-tab-in-value"),
    # RFC 9110 §5.5: no control byte but HTAB in a value (issue 12, item 10).
    *[
        pytest.param(H(b"Host: a", b"X: a" + bytes([byte]) + b"b"), 400, CLOSE,
                     id=f"ctl-{byte:02x}-in-value")
        for byte in [*range(0x01, 0x09), *range(0x0E, 0x20), 0x7F]
    ],
    pytest.param(H(b"Host: a", b"X: a\x01"), 400, CLOSE, id="ctl-at-end-of-value"),
    # RFC 9112 §2.2: empty lines before a request line are ignored, a bounded number of them.
    pytest.param(b"\r\n" + H(b"Host: a"), 200, KEEP, id="leading-empty-line"),
    pytest.param(b"\n\r\n\n" + H(b"Host: a"), 200, KEEP, id="leading-empty-lines-mixed"),
    pytest.param(b"\r\n" * 8 + H(b"Host: a"), 200, KEEP, id="leading-empty-lines-at-limit"),
    pytest.param(b"\r\n" * 9 + H(b"Host: a"), 400, CLOSE, id="leading-empty-lines-over-limit"),
    pytest.param(b"\r\r\n" + H(b"Host: a"), 400, CLOSE, id="leading-bare-cr"),
    # The authority of an absolute-form target replaces Host, so it passes Host's check
    # (issue 12, item 8); userinfo is refused (RFC 9110 §4.2.4).
    *[
        pytest.param(H(b"Host: a", start=b"GET " + target + b" HTTP/1.1"), 400, CLOSE,
                     id=f"absolute-{name}")
        for name, target in [
            ("quote-and-angle", b'http://a"<b>/x'), ("userinfo", b"http://good@evil/u"),
            ("userinfo-no-path", b"http://u:p@evil"), ("empty-host", b"http:///x"),
            ("port-only", b"http://:80/x"), ("two-colons", b"http://a:1:2/"),
        ]
    ],
    pytest.param(H(b"Host: a", start=b"GET http://b.example:8080/x?q HTTP/1.1"), 200, KEEP,
                 id="absolute-with-port-and-query"),
    pytest.param(H(b"Host: a", start=b"GET http://[::1]/x HTTP/1.1"), 200, KEEP,
                 id="absolute-ipv6"),
    pytest.param(H(b"Host: a", b"X: " + b"a" * 17000), 431, CLOSE, id="head-too-large-one-read"),
    pytest.param(H(b"Host: a", *[b"X-%d: 1" % i for i in range(100)]), 431, CLOSE,
                 id="too-many-headers"),
    pytest.param(H(b"Host: a", *[b"X-%d: 1" % i for i in range(99)]), 200, KEEP,
                 id="header-count-at-limit"),
    # -- Expect ----------------------------------------------------------------------------------
    pytest.param(post(b"Content-Length: %d" % (MAX_BODY + 1), b"Expect: 100-continue"),
                 413, CLOSE, id="expect-over-limit"),
    pytest.param(post(b"Content-Length: 5", b"Expect: 100-continue", body=b"hello"),
                 200, KEEP, id="expect-body-already-sent"),
]


def _check_bodies(responses: list[RawResponse]) -> None:
    for response in responses:
        assert b"Traceback" not in response.body
        if response.status >= 200:
            assert response.header(b"date"), "every final response has a Date"


@pytest.mark.parametrize(("data", "status", "closes"), REQUESTS)
def test_golden_table(
    plugserve_server: ServerFactory, data: bytes, status: int, closes: bool
) -> None:
    check_table_row(plugserve_server, data, status, closes)


def check_table_row(
    plugserve_server: ServerFactory, data: bytes, status: int, closes: bool
) -> None:
    """Send the row then a good request, in one send: the row gets `status`, the good request
    is answered unless the row `closes` the connection, and the server keeps serving."""
    server = plugserve_server(Echo(), max_body_bytes=MAX_BODY)
    started = time.monotonic()
    raw = server.raw(data + good_request(), timeout=5)
    assert time.monotonic() - started < 4, "the server did not close the connection"
    responses = parse_responses(raw, [data.split(b" ", 1)[0], b"GET"])
    _check_bodies(responses)
    finals = [r for r in responses if r.status >= 200]
    assert [r.status for r in responses if r.status < 200] == [], "no 100 Continue was due"
    assert finals, f"no response at all to {data[:80]!r}"
    assert finals[0].status == status, finals[0]
    if closes:
        assert len(finals) == 1, "a request after the closing one was answered"
        assert finals[0].closes, "a closing response says Connection: close"
    else:
        assert [r.status for r in finals] == [status, 200]
        assert not finals[0].closes
        assert finals[1].body == b"hello"
    # The server is still healthy for the next client.
    assert server.get("/").status == 200


def test_oversize_head_in_one_read_is_not_parsed(plugserve_server: ServerFactory) -> None:
    """A head over the limit is refused even when one recv() holds all of it (h11 would not)."""
    server = plugserve_server(Echo(), max_header_bytes=1024)
    data = H(b"Host: a", b"X: " + b"a" * 1100)
    assert len(data) < 2048
    [response] = parse_responses(server.raw(data))
    assert response.status == 431


def test_error_response_shape(plugserve_server: ServerFactory) -> None:
    """Protocol errors: plain text, nosniff, a length, Connection: close, and the reason."""
    server = plugserve_server(Echo())
    [response] = parse_responses(server.raw(H(b"Host: a b")))
    assert response.status == 400
    assert response.reason == b"Bad Request"
    assert response.header(b"content-type") == b"text/plain; charset=utf-8"
    assert response.header(b"x-content-type-options") == b"nosniff"
    assert response.header(b"connection") == b"close"
    assert int(response.header(b"content-length") or -1) == len(response.body)
    assert b"Host" in response.body


def test_options_asterisk_like_twisted(plugserve_server: ServerFactory) -> None:
    """`OPTIONS *` is answered by the server itself, 200 with no body, whatever the root resource
    renders (twisted-web.md §1.1 step 3, §1.9)."""
    class GetOnly(Resource):
        isLeaf = True

        def render_GET(self, request: Request) -> bytes | int:
            return b"hello"

    server = plugserve_server(GetOnly())
    [response] = parse_responses(server.raw(H(b"Host: a", b"Connection: close",
                                              start=b"OPTIONS * HTTP/1.1")))
    assert response.status == 200
    assert response.header(b"content-length") == b"0"


# -- headers and bodies reaching the resource --------------------------------------------------


def test_obs_fold_unfolded_with_a_space(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    data = H(b"Host: a", b"X-Folded: a", b"\t b", b"Connection: close",
             start=b"GET /header/x-folded HTTP/1.1")
    [response] = parse_responses(server.raw(data))
    assert response.status == 200
    assert response.body in (b"a b", b"a  b")  # RFC 9112 §5.2: each fold becomes SP


def test_trailers_never_become_headers(plugserve_server: ServerFactory) -> None:
    class Trailer(Resource):
        isLeaf = True

        def render_POST(self, request: Request) -> bytes | int:
            return b"%s|%s" % (request.content.read(), request.getHeader(b"x-trailer") or b"-")

    server = plugserve_server(Trailer())
    body = b"5\r\nhello\r\n0\r\nX-Trailer: t\r\nContent-Length: 99\r\n\r\n"
    [response] = parse_responses(server.raw(post(b"Transfer-Encoding: chunked",
                                                 b"Connection: close", body=body)))
    assert (response.status, response.body) == (200, b"hello|-")


def test_chunk_extension_with_bare_cr_is_discarded(plugserve_server: ServerFactory) -> None:
    """h11 accepts `2;a\\rb` (h11-gaps.md: Twisted rejects it, CVE-2022-24801); what matters is
    that the framing stays the one h11 saw: the extension is dropped, the data is intact."""
    server = plugserve_server(Echo())
    body = b"2;a\rb\r\nhi\r\n0\r\n\r\n"
    responses = parse_responses(server.raw(chunked(body) + good_request()))
    assert [r.status for r in responses][:1] in ([200], [400])
    if responses[0].status == 200:
        assert responses[0].body == b"hi"


def test_chunked_body_reaches_resource_intact(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    payload = bytes(range(256)) * 3
    pieces = [payload[:1], payload[1:300], payload[300:]]
    body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    with RawClient.to(server) as client:
        # Head, then the body in small pieces, as a slow client would.
        client.send(chunked(b""))
        for i in range(0, len(body), 97):
            client.send(body[i:i + 97])
            time.sleep(0.001)
        response = client.response()
        assert (response.status, response.body) == (200, payload)
        client.send(post(b"Content-Length: 3", body=b"abc"))
        assert client.response().body == b"abc"


# -- persistence ---------------------------------------------------------------------------------


def test_http11_keep_alive(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    with RawClient.to(server) as client:
        for path in (b"/a", b"/b", b"/c"):
            client.send(H(b"Host: a", start=b"GET " + path + b" HTTP/1.1"))
            response = client.response()
            assert (response.status, response.body) == (200, path)
            assert not response.closes
        assert not client.closed_by_server(timeout=0.3)


def test_http10_closes_after_the_response(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    data = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + good_request()
    responses = parse_responses(server.raw(data))
    assert [r.status for r in responses] == [200]  # keep-alive is ignored, as in Twisted
    assert responses[0].body == b"hello"
    assert responses[0].header(b"content-length") == b"5"


def test_http10_streamed_body_is_delimited_by_close(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    raw = server.raw(b"GET /stream HTTP/1.0\r\n\r\n")
    [response] = parse_responses(raw)
    assert response.status == 200
    assert response.header(b"transfer-encoding") is None
    assert response.header(b"content-length") is None
    assert response.body == b"onetwothree"


def test_client_connection_close_is_honoured(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    with RawClient.to(server) as client:
        client.send(H(b"Host: a", b"Connection: close"))
        response = client.response()
        assert response.status == 200
        assert response.closes
        assert client.closed_by_server()


@pytest.mark.parametrize("value", [b"close", b"Close", b"keep-alive, close", b"close,keep-alive"])
def test_client_connection_close_tokens(plugserve_server: ServerFactory, value: bytes) -> None:
    server = plugserve_server(Echo())
    responses = parse_responses(server.raw(H(b"Host: a", b"Connection: " + value) + H(b"Host: a")))
    assert [r.status for r in responses] == [200]


def test_server_connection_close_is_honoured(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    with RawClient.to(server) as client:
        client.send(H(b"Host: a", start=b"GET /close HTTP/1.1") + H(b"Host: a"))
        response = client.response()
        assert (response.status, response.body) == (200, b"hello")
        assert response.closes
        assert client.closed_by_server()


def test_pipelined_requests_answered_in_order(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    data = b"".join([
        H(b"Host: a", start=b"GET /one HTTP/1.1"),
        post(b"Content-Length: 3", body=b"two"),
        chunked(b"5\r\nthree\r\n0\r\n\r\n"),
        H(b"Host: a", start=b"HEAD /four HTTP/1.1"),
        H(b"Host: a", start=b"GET /stream HTTP/1.1"),
        H(b"Host: a", b"Connection: close", start=b"GET /six HTTP/1.1"),
        H(b"Host: a", start=b"GET /never HTTP/1.1"),
    ])
    methods = [b"GET", b"POST", b"POST", b"HEAD", b"GET", b"GET"]
    responses = parse_responses(server.raw(data), methods)
    _check_bodies(responses)
    assert [(r.status, r.body) for r in responses] == [
        (200, b"/one"), (200, b"two"), (200, b"three"), (200, b""), (200, b"onetwothree"),
        (200, b"/six"),
    ]


def test_pipelined_requests_wait_for_a_slow_response(plugserve_server: ServerFactory) -> None:
    """The second request is not started before the first (NOT_DONE_YET) one has finished."""
    order: list[bytes] = []

    class Slow(Resource):
        isLeaf = True

        def render_GET(self, request: Request) -> bytes | int:
            order.append(b"start " + request.path)
            if request.path == b"/slow":
                def done() -> None:
                    order.append(b"finish /slow")
                    request.write(b"slow")
                    request.finish()

                reactor.callLater(0.2, done)
                return NOT_DONE_YET
            order.append(b"finish " + request.path)
            return b"fast"

    server = plugserve_server(Slow())
    data = (H(b"Host: a", start=b"GET /slow HTTP/1.1")
            + H(b"Host: a", b"Connection: close", start=b"GET /fast HTTP/1.1"))
    responses = parse_responses(server.raw(data))
    assert [r.body for r in responses] == [b"slow", b"fast"]
    assert order == [b"start /slow", b"finish /slow", b"start /fast", b"finish /fast"]


# -- Expect: 100-continue --------------------------------------------------------------------------


def test_expect_100_continue(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    with RawClient.to(server) as client:
        client.send(post(b"Content-Length: 5", b"Expect: 100-continue"))
        interim = client.response()
        assert interim.status == 100
        assert interim.version == b"HTTP/1.1"
        assert interim.reason == b"Continue"
        client.send(b"hello")
        final = client.response(b"POST")
        assert (final.status, final.body) == (200, b"hello")


def test_expect_100_continue_chunked(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    with RawClient.to(server) as client:
        client.send(post(b"Transfer-Encoding: chunked", b"Expect: 100-continue"))
        assert client.response().status == 100
        client.send(b"3\r\nabc\r\n0\r\n\r\n")
        assert client.response(b"POST").body == b"abc"


def test_expect_over_limit_gets_413_without_100(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), max_body_bytes=10)
    with RawClient.to(server) as client:
        client.send(post(b"Content-Length: 11", b"Expect: 100-continue"))
        response = client.response(b"POST")
        assert response.status == 413
        assert client.closed_by_server()


def test_no_100_continue_without_a_body_or_on_http10(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    data = (H(b"Host: a", b"Expect: 100-continue")
            + H(b"Content-Length: 2", b"Expect: 100-continue", body=b"hi",
                start=b"POST / HTTP/1.0"))
    responses = parse_responses(server.raw(data), [b"GET", b"POST"])
    assert [(r.status, r.body) for r in responses] == [(200, b"hello"), (200, b"hi")]


# -- HEAD ----------------------------------------------------------------------------------------


def test_head_has_the_headers_of_get_and_no_body(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    data = H(b"Host: a", start=b"HEAD / HTTP/1.1") + good_request()
    raw = server.raw(data)
    head, get = parse_responses(raw, [b"HEAD", b"GET"])
    assert raw.count(b"hello") == 1  # only GET's body went out
    assert head.status == get.status == 200
    assert head.header(b"content-length") == b"5"

    def comparable(r: RawResponse) -> list[tuple[bytes, bytes]]:
        return [(n.lower(), v) for n, v in r.headers if n.lower() not in (b"date", b"connection")]

    assert comparable(head) == comparable(get)


def test_head_of_a_streamed_resource(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    data = H(b"Host: a", start=b"HEAD /stream HTTP/1.1") + good_request()
    head, get = parse_responses(server.raw(data), [b"HEAD", b"GET"])
    assert head.status == 200
    assert (get.status, get.body) == (200, b"hello")


# -- response headers and framing ----------------------------------------------------------------


def test_date_and_server_headers(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    [response] = parse_responses(server.raw(good_request()))
    date = response.header(b"date") or b""
    assert date.endswith(b" GMT") and len(date) == 29
    assert (response.header(b"server") or b"").startswith(b"plugserve/")
    [error] = parse_responses(server.raw(b"BAD\r\n\r\n"))
    assert error.status == 400 and error.header(b"date")


def test_streamed_response_is_chunked_on_http11(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo())
    raw = server.raw(H(b"Host: a", b"Connection: close", start=b"GET /stream HTTP/1.1"))
    [response] = parse_responses(raw)
    assert response.status == 200
    assert response.chunked
    assert response.body == b"onetwothree"
    assert b"\r\n\r\n3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n0\r\n\r\n" in raw


def test_http10_gets_a_plain_response(plugserve_server: ServerFactory) -> None:
    """RFC 9110 §6.2: the server answers with its own version, HTTP/1.1, also to 1.0 clients
    (Twisted echoes HTTP/1.0; clients accept both)."""
    server = plugserve_server(Echo())
    [response] = parse_responses(server.raw(b"GET / HTTP/1.0\r\n\r\n"))
    assert response.version in (b"HTTP/1.0", b"HTTP/1.1")
    assert response.header(b"transfer-encoding") is None


def test_client_half_close(plugserve_server: ServerFactory) -> None:
    """A response written at once reaches a client that shut down its sending side; one still
    pending when the end of file arrives is abandoned, because a client that closes has gone
    away (as Twisted and nginx take it), so notifyFinish fails and the work can stop."""
    server = plugserve_server(Echo())
    [response] = parse_responses(server.raw(H(b"Host: a"), shutdown=True))
    assert (response.status, response.body) == (200, b"hello")
    raw = server.raw(H(b"Host: a") + H(b"Host: a"), shutdown=True)
    assert [r.body for r in parse_responses(raw)] == [b"hello", b"hello"]
    finished: list[BaseException | None] = []

    class Slow(Resource):
        isLeaf = True

        def render_GET(self, request: Request) -> int:
            request.write(b"one")
            _ = request.notifyFinish().addBoth(finished.append)
            reactor.callLater(2, lambda: None if request._disconnected else request.finish())
            return NOT_DONE_YET

    slow = plugserve_server(Slow())
    started = time.monotonic()
    raw = slow.raw(H(b"Host: a"), shutdown=True)
    assert b"one" in raw and time.monotonic() - started < 1.5  # closed at the FIN
    assert slow.call(lambda: len(finished)) == 1
    assert isinstance(finished[0], ConnectionLost)
    assert server.get("/").status == 200


class BadLength(Resource):
    """Declares a Content-Length and then breaks it (fewer or more bytes)."""

    isLeaf = True

    def render_GET(self, request: Request) -> bytes | int:
        if request.path == b"/":
            return b"hello"
        request.setHeader(b"content-length", b"10")
        request.write(b"x" * (5 if request.path == b"/short" else 20))
        request.finish()
        return NOT_DONE_YET


@pytest.mark.parametrize("path", [b"/short", b"/long"])
def test_response_breaking_its_content_length_drops_the_connection(
    plugserve_server: ServerFactory, path: bytes
) -> None:
    """The response cannot be completed: the connection is dropped at once (the client sees a
    truncated body) instead of hanging in the middle of a response no timeout covers."""
    server = plugserve_server(BadLength())
    started = time.monotonic()
    raw = server.raw(H(b"Host: a", start=b"GET " + path + b" HTTP/1.1") + good_request())
    assert time.monotonic() - started < 4, "the connection was left open"
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"Content-Length: 10" in head
    assert len(body) < 10 and b"HTTP/1.1" not in body
    assert server.get("/").body == b"hello"
    running = server.server
    assert running is not None
    def every_client_gone() -> bool:
        return not server.call(lambda: len(running.connections))

    assert eventually(every_client_gone, timeout=3), "a connection was left open"


class BadHeaders(Resource):
    """Sets a response header or reason phrase with bytes that must never reach the wire."""

    isLeaf = True

    def render_GET(self, request: Request) -> bytes | int:
        path = request.path
        if path == b"/lf-in-value":
            request.setHeader(b"x-a", b"a\nInjected: 1")
        elif path == b"/crlf-in-value":
            request.setHeader(b"x-a", b"a\r\nInjected: 1")
        elif path == b"/nul-in-value":
            request.setHeader(b"x-a", b"a\x00b")
        elif path == b"/space-in-name":
            request.setHeader(b"x a", b"v")
        elif path == b"/crlf-in-reason":
            request.setResponseCode(200, b"OK\r\nInjected: 1")
        return b"hello"


@pytest.mark.parametrize(
    "path",
    [b"/lf-in-value", b"/crlf-in-value", b"/nul-in-value", b"/space-in-name", b"/crlf-in-reason"],
)
def test_invalid_outgoing_head_never_reaches_the_wire(
    plugserve_server: ServerFactory, path: bytes
) -> None:
    """h11-gaps.md, last row: CR/LF/NUL in what the resource sends is either neutralised (as
    Twisted's Headers does) or a 500 with a log line; never a split response or a traceback."""
    server = plugserve_server(BadHeaders())
    raw = server.raw(H(b"Host: a", b"Connection: close", start=b"GET " + path + b" HTTP/1.1"))
    [response] = parse_responses(raw)
    assert response.status in (200, 500)
    assert b"\r\nInjected:" not in raw and b"\nInjected:" not in raw
    assert b"\x00" not in raw
    assert b"Traceback" not in raw
    assert server.get("/").status == 200


def test_a_bad_reason_phrase_is_a_500(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(BadHeaders())
    [response] = parse_responses(server.raw(good_request().replace(b"/", b"/crlf-in-reason", 1)))
    assert response.status == 500


def test_target_is_escaped_when_echoed(plugserve_server: ServerFactory) -> None:
    """h11 accepts `<`, `>` and `"` in a target; the 405 page quoting it escapes them."""
    server = plugserve_server(Echo())
    raw = server.raw(H(b"Host: a", b"Connection: close", start=b'PUT /<script>"x" HTTP/1.1'))
    [response] = parse_responses(raw)
    assert response.status == 405
    assert b"<script>" not in response.body
    assert b"&lt;script&gt;" in response.body
