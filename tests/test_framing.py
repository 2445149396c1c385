"""Framing defects found with hostile clients (issue 12, items 4, 5, 7 and 8), over real sockets
on both engines: bytes after a request that ends its connection, stray empty lines between
kept-alive requests, redirects and URLs of absolute-form requests.

The byte-level rows (control bytes, chunk-size lines, authorities, leading empty lines) are in
the golden table of tests/test_protocol.py; these are the cases that need a whole exchange.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET, Request
from plugserve.testing import eventually
from plugserve_static import File

from tests.wire import RawClient, ServerFactory, parse_responses

pytestmark = pytest.mark.each_engine


class Echo(Resource):
    """POST: the body back; GET: the URL the request was addressed to, as the server sees it.
    `?slow=1` answers 0.2 s later, so that bytes can arrive while the resource works; `working`
    is set when such a request has reached the resource."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.working = threading.Event()

    def render_POST(self, request: Request) -> bytes | int:
        return self._maybe_later(request, request.content.read())

    def render_GET(self, request: Request) -> bytes | int:
        body = b"%s %s" % (request.prePathURL(), request.getRequestHostname())
        return self._maybe_later(request, body)

    def _maybe_later(self, request: Request, body: bytes) -> bytes | int:
        if b"slow" not in request.args:
            return body
        self.working.set()

        def answer() -> None:
            request.write(body)
            request.finish()

        asyncio.get_running_loop().call_later(0.2, answer)
        return NOT_DONE_YET


def _only_response(server: object, data: bytes, method: bytes = b"GET") -> bytes:
    """Send `data`, then expect exactly one response and the server's close."""
    with RawClient.to(server) as client:
        client.send(data)
        response = client.response(method)
        rest = client.read_all()
    assert parse_responses(rest) == [], f"a second answer: {rest[:200]!r}"
    assert response.status == 200, response
    return response.body


# -- item 4: nothing after the answer to a request that ends the connection -------------------


@pytest.mark.parametrize(
    "after",
    [b"\r\n", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", b"garbage\x00\r\n\r\n"],
    ids=["stray-crlf", "pipelined-request", "garbage"],
)
@pytest.mark.parametrize("ending", [b"HTTP/1.0", b"HTTP/1.1\r\nConnection: close"],
                         ids=["http10", "connection-close"])
@pytest.mark.parametrize("target", [b"/echo", b"/echo?slow=1"], ids=["at-once", "later"])
def test_bytes_after_a_closing_request_get_no_400(
    plugserve_server: ServerFactory, ending: bytes, after: bytes, target: bytes
) -> None:
    """The example of the issue: the client gets its 200, not `400 Got data when expecting EOF`
    (which h11 said whenever the answer was not written at once, as a WSGI one is not)."""
    server = plugserve_server(Echo())
    request = b"POST " + target + b" " + ending + b"\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
    assert _only_response(server, request + after, b"POST") == b"hello"


@pytest.mark.parametrize("ending", [b"HTTP/1.0", b"HTTP/1.1\r\nConnection: close"],
                         ids=["http10", "connection-close"])
def test_bytes_arriving_while_the_resource_works(
    plugserve_server: ServerFactory, ending: bytes
) -> None:
    echo = Echo()
    server = plugserve_server(echo)
    with RawClient.to(server) as client:
        client.send(b"POST /?slow=1 " + ending + b"\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
        assert echo.working.wait(10)
        client.send(b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
        response = client.response(b"POST")
        rest = client.read_all()
    assert (response.status, response.body) == (200, b"hello")
    assert parse_responses(rest) == []


# -- item 5: stray empty lines between kept-alive requests --------------------------------------


@pytest.mark.parametrize("stray", [b"\r\n", b"\n", b"\r\n\r\n"], ids=["crlf", "lf", "two"])
def test_stray_empty_line_after_a_body_on_a_kept_alive_connection(
    plugserve_server: ServerFactory, stray: bytes
) -> None:
    server = plugserve_server(Echo())
    with RawClient.to(server) as client:
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" + stray)
        assert client.response(b"POST").body == b"hello"
        assert eventually(lambda: server.has_read(client.sock))  # the stray line, on its own
        client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert client.response().status == 200
        client.send(b"\r")  # a CR alone, then its LF and the next request in another read
        assert eventually(lambda: server.has_read(client.sock))
        client.send(b"\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        assert client.response().status == 200
        assert client.closed_by_server()


def test_empty_lines_alone_then_close(plugserve_server: ServerFactory) -> None:
    """Empty lines and then an end of file are not a request: a silent close, no 400."""
    server = plugserve_server(Echo())
    assert server.raw(b"\r\n\r\n\r", shutdown=True) == b""


def test_too_many_empty_lines(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Echo(), max_empty_lines=2)
    ok = b"\r\n\n" + b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    assert [r.status for r in parse_responses(server.raw(ok))] == [200]
    [response] = parse_responses(server.raw(b"\r\n" + ok))
    assert response.status == 400
    assert b"empty lines" in response.body


# -- items 7 and 8: absolute-form targets --------------------------------------------------------


def test_directory_redirect_of_an_absolute_form_request(
    plugserve_server: ServerFactory, tmp_path: Path
) -> None:
    (tmp_path / "static").mkdir()
    server = plugserve_server(File(str(tmp_path)))
    for target, location in [
        (b"http://example.com/static", b"/static/"),
        (b"http://example.com/static?a=b", b"/static/?a=b"),
        (b"/static", b"/static/"),
    ]:
        with RawClient.to(server) as client:
            client.send(b"GET " + target + b" HTTP/1.1\r\nHost: other\r\n\r\n")
            response = client.response()
        assert (response.status, response.header(b"location")) == (302, location), target


def test_the_authority_of_an_absolute_form_target_replaces_host(
    plugserve_server: ServerFactory,
) -> None:
    server = plugserve_server(Echo())
    body = _only_response(
        server, b"GET http://good.example:8080/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    assert body == b"http://good.example:8080/ good.example"


@pytest.mark.parametrize(
    "target", [b'http://a"<b>/x', b"http://good.example@evil.example/u"], ids=["html", "userinfo"]
)
def test_a_bad_authority_never_reaches_the_resource(
    plugserve_server: ServerFactory, target: bytes
) -> None:
    server = plugserve_server(Echo())
    [response] = parse_responses(server.raw(b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n"))
    assert response.status == 400
    assert b"evil" not in response.body and b"<b>" not in response.body
