"""The Request API used by resources (Twisted Web's `server.Request`), checked over HTTP.

Reference: shared/reference/twisted-web.md §1.3-§1.8.  Where plugserve differs from Twisted on
purpose (urlencoded body values accumulate with the query's instead of replacing them;
prePathURL uses the Host header's port, not the socket's), the test says so.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import pytest
from plugserve import reactor
from plugserve.error import ConnectionLost
from plugserve.http import CACHED
from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET
from plugserve.testing import TestServer

ServerFactory = Callable[..., TestServer]


def _text(value: Any) -> Any:
    """JSON-friendly form of bytes, lists and dicts of bytes."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict):
        return {_text(k): _text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    return value


class Probe(Resource):
    """A leaf that answers every method with `inspect(request)` as JSON."""

    isLeaf = True

    def __init__(self, inspect: Any) -> None:
        super().__init__()
        self.inspect = inspect

    def render(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(_text(self.inspect(request))).encode()


def probe(server: Any, method: str = "GET", path: str = "/", headers: Any = None,
          body: bytes | None = None) -> Any:
    response = server.request(method, path, headers, body)
    assert response.status == 200, (response.status, response.body)
    return json.loads(response.body)


def args_of(request: Any) -> Any:
    return request.args


def raw_exchange(server: Any, data: bytes, timeout: float = 5) -> bytes:
    return server.raw(data, timeout=timeout)  # type: ignore[no-any-return]


# -- args -----------------------------------------------------------------------------------------


def test_query_args_follow_twisted_rules(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(args_of))
    args = probe(server, path="/?a=1&b=2;c=3&a=4&y&z=&p=x+y&q=%26%3D%2B&bar=?")
    assert args == {
        "a": ["1", "4"],
        "b": ["2"],
        "c": ["3"],
        "z": [""],
        "p": ["x y"],
        "q": ["&=+"],
        "bar": ["?"],
    }


def test_extra_question_mark_is_part_of_the_query(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(args_of))
    assert probe(server, path="/?bar=?&baz=quux") == {"bar": ["?"], "baz": ["quux"]}


def test_no_query_gives_empty_args(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(args_of))
    assert probe(server, path="/") == {}
    assert probe(server, path="/?") == {}
    assert probe(server, path="/?novalue") == {}


def test_args_are_bytes(plugserve_server: ServerFactory) -> None:
    seen: list[Any] = []

    def inspect(request: Any) -> Any:
        seen.append(request.args)
        return None

    probe(plugserve_server(Probe(inspect)), path="/?k=%C3%A9")
    assert seen == [{b"k": ["é".encode()]}]


def test_urlencoded_post_is_merged_with_query_args(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(args_of))
    args = probe(
        server, "POST", "/?a=1&q=query",
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"a=2&b=two+words&c=%2F",
    )
    # Unlike Twisted (where the body's list replaces the query's), values accumulate.
    assert args == {"a": ["1", "2"], "q": ["query"], "b": ["two words"], "c": ["/"]}


def test_urlencoded_content_type_is_case_insensitive_and_may_have_params(
    plugserve_server: ServerFactory,
) -> None:
    server = plugserve_server(Probe(args_of))
    args = probe(server, "POST", "/",
                 {"Content-Type": "Application/X-WWW-Form-URLEncoded; charset=utf-8"}, b"k=v")
    assert args == {"k": ["v"]}


def test_body_of_put_or_other_content_type_is_not_parsed(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(args_of))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert probe(server, "PUT", "/?q=1", form, b"a=2") == {"q": ["1"]}
    assert probe(server, "POST", "/", {"Content-Type": "text/plain"}, b"a=2") == {}


def test_urlencoded_body_is_still_readable_from_content(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(lambda r: [r.args, r.content.read()]))
    got = probe(server, "POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
                b"a=1")
    assert got == [{"a": ["1"]}, "a=1"]


MULTIPART = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="field"\r\n'
    b"\r\n"
    b"plain value\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="field"\r\n'
    b"\r\n"
    b"second value\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="upload"; filename="hello.bin"\r\n'
    b"Content-Type: application/octet-stream\r\n"
    b"\r\n"
    b"\x00\x01binary\r\ndata\xff\r\n"
    b"--XyZ\r\n"
    b"Content-Disposition: form-data\r\n"
    b"\r\n"
    b"part without a name is skipped\r\n"
    b"--XyZ--\r\n"
)


def test_multipart_form_data_fields_and_files(plugserve_server: ServerFactory) -> None:
    seen: list[Any] = []

    def inspect(request: Any) -> Any:
        seen.append(request.args)
        return None

    server = plugserve_server(Probe(inspect))
    probe(server, "POST", "/?q=1", {"Content-Type": "multipart/form-data; boundary=XyZ"},
          MULTIPART)
    assert seen == [{
        b"q": [b"1"],
        b"field": [b"plain value", b"second value"],
        b"upload": [b"\x00\x01binary\r\ndata\xff"],
    }]


def test_multipart_with_quoted_boundary(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(args_of))
    body = MULTIPART.replace(b"XyZ", b"a b")
    args = probe(server, "POST", "/", {"Content-Type": 'multipart/form-data; boundary="a b"'},
                 body)
    assert args["field"] == ["plain value", "second value"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data; boundary=other", MULTIPART),
        ("multipart/form-data", MULTIPART),
        ("multipart/form-data; boundary=XyZ", b"this is not multipart at all"),
    ],
    ids=["wrong-boundary", "no-boundary", "garbage"],
)
def test_malformed_multipart_is_400_and_server_keeps_serving(
    plugserve_server: ServerFactory,
    content_type: str,
    body: bytes,
) -> None:
    rendered: list[bool] = []

    def inspect(request: Any) -> Any:
        rendered.append(True)
        return "ok"

    server = plugserve_server(Probe(inspect))
    response = server.request("POST", "/", {"Content-Type": content_type}, body)
    assert response.status == 400
    assert rendered == []
    assert server.get("/").status == 200
    assert rendered == [True]


def test_empty_multipart_body_is_not_parsed(plugserve_server: ServerFactory) -> None:
    """As in Twisted, a POST whose body is empty is not parsed, whatever its Content-Type."""
    server = plugserve_server(Probe(args_of))
    assert probe(server, "POST", "/?q=1", {"Content-Type": "multipart/form-data; boundary=B"},
                 b"") == {"q": ["1"]}


def test_multipart_binary_file_round_trips(plugserve_server: ServerFactory) -> None:
    seen: list[Any] = []

    def inspect(request: Any) -> Any:
        seen.append(request.args)
        return None

    blob = bytes(range(256)) + b"\r\n\r\n--XyZ-not-a-boundary\r\n\n\r" + b"end\r\n"
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"b.bin\"\r\n\r\n"
            + blob + b"\r\n--XyZ--\r\n")
    probe(plugserve_server(Probe(inspect)), "POST", "/",
          {"Content-Type": "multipart/form-data; boundary=XyZ"}, body)
    assert seen == [{b"f": [blob]}]


# -- the body -------------------------------------------------------------------------------------


def content_of(request: Any) -> Any:
    content = request.content
    data = content.read()
    content.seek(0)
    again = content.read()
    return {"len": len(data), "same": data == again, "head": data[:20], "tail": data[-20:],
            "sum": sum(data) % 65536, "tell": content.tell()}


def expected(body: bytes) -> dict[str, Any]:
    return {"len": len(body), "same": True, "head": body[:20].decode("latin-1"),
            "tail": body[-20:].decode("latin-1"), "sum": sum(body) % 65536,
            "tell": len(body)}


def test_content_is_the_exact_body(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(content_of))
    body = bytes(range(256)) * 3
    assert probe(server, "PUT", "/", {"Content-Type": "application/octet-stream"}, body) == \
        expected(body)


def test_content_is_empty_without_a_body(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(content_of))
    assert probe(server) == expected(b"")


def test_content_of_a_chunked_body(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(content_of))
    body = b"hello, " * 10 + b"world"
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(piece), piece) for piece in (body[:7], body[7:50], body[50:])
    )
    data = raw_exchange(
        server,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + chunks + b"0\r\n\r\n",
    )
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert json.loads(payload) == expected(body)


def test_content_of_a_large_body(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(content_of))
    body = (bytes(range(251)) * 1000)[:250_000]
    assert len(body) > 100_000
    assert probe(server, "POST", "/", {"Content-Type": "application/octet-stream"}, body) == \
        expected(body)


def test_content_of_a_large_chunked_body(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(content_of))
    body = (bytes(range(7, 250)) * 1000)[:150_001]
    conn = server.connection()
    try:
        conn.putrequest("POST", "/")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for start in range(0, len(body), 32768):
            piece = body[start:start + 32768]
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read()) == expected(body)
    finally:
        conn.close()


def test_content_of_a_large_urlencoded_form(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(lambda r: {k: len(v[0]) for k, v in r.args.items()}))
    body = b"big=" + b"x" * 200_000 + b"&small=1"
    assert probe(server, "POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
                 body) == {"big": 200_000, "small": 1}


# -- headers --------------------------------------------------------------------------------------


def test_request_headers_are_case_insensitive(plugserve_server: ServerFactory) -> None:
    def inspect(request: Any) -> Any:
        h = request.requestHeaders
        return {
            "raw": h.getRawHeaders(b"X-Multi"),
            "raw_str": h.getRawHeaders("x-MULTI"),
            "str_type": type(h.getRawHeaders("x-multi")[0]).__name__,
            "missing": h.getRawHeaders(b"x-missing"),
            "default": h.getRawHeaders(b"x-missing", ["d"]),
            "has": [h.hasHeader(b"X-ONE"), h.hasHeader("x-one"), h.hasHeader(b"x-none")],
            "getHeader": request.getHeader(b"X-MULTI"),
            "getHeader_str": request.getHeader("x-one"),
            "getHeader_none": request.getHeader(b"x-nothing"),
            "all": request.getAllHeaders().get(b"x-multi"),
        }

    server = plugserve_server(Probe(inspect))
    data = raw_exchange(
        server,
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Multi: first\r\nx-one: 1\r\nX-MULTI: second\r\n"
        b"Connection: close\r\n\r\n",
    )
    got = json.loads(data.partition(b"\r\n\r\n")[2])
    assert got == {
        "raw": ["first", "second"],
        "raw_str": ["first", "second"],
        "str_type": "str",
        "missing": None,
        "default": ["d"],
        "has": [True, True, False],
        "getHeader": "second",  # the last value
        "getHeader_str": "1",
        "getHeader_none": None,
        "all": "second",
    }


def test_response_headers_set_add_remove(plugserve_server: ServerFactory) -> None:
    class Headers_(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            h = request.responseHeaders
            h.setRawHeaders(b"X-Set", [b"one", b"two"])
            h.addRawHeader("x-SET", "three")
            h.setRawHeaders("X-Gone", ["bye"])
            h.removeHeader(b"x-gone")
            request.setHeader(b"X-Replace", b"old")
            request.setHeader("x-replace", "new \u00e9")
            request.setHeader(b"X-Inject", b"a\r\nSet-Cookie: evil=1")
            request.setHeader(b"etag", b'"e"')
            request.setHeader(b"www-authenticate", b"Basic")
            assert h.getRawHeaders(b"x-set") == [b"one", b"two", b"three"]
            assert h.hasHeader("X-REPLACE")
            return b"ok"

    response = plugserve_server(Headers_()).get("/")
    assert response.status == 200
    names = [name for name, _ in response.header_list]
    assert response.headers.get_all("X-Set") == ["one", "two", "three"]
    assert "X-Gone" not in names
    assert response.headers.get_all("X-Replace") == ["new \u00e9".encode().decode("latin-1")]
    assert response.header("X-Inject") == "a Set-Cookie: evil=1"
    assert response.header("Set-Cookie") is None
    # Canonical spelling on the wire, with Twisted's exceptions.
    assert "ETag" in names
    assert "WWW-Authenticate" in names
    assert "X-Replace" in names


def test_set_response_code_with_custom_message(plugserve_server: ServerFactory) -> None:
    class Teapot(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.setResponseCode(299, b"Custom Reason")
            return b"x"

    class Unknown(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.setResponseCode(299)
            return b"x"

    root = Resource()
    root.putChild(b"custom", Teapot())
    root.putChild(b"unknown", Unknown())
    server = plugserve_server(root)
    data = raw_exchange(server, b"GET /custom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 299 Custom Reason\r\n")
    data = raw_exchange(server, b"GET /unknown HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 299 Unknown Status\r\n")


def test_set_response_code_rejects_non_int(plugserve_server: ServerFactory) -> None:
    errors: list[BaseException] = []

    class Bad(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            try:
                request.setResponseCode("404")
            except TypeError as exc:
                errors.append(exc)
            return b"x"

    assert plugserve_server(Bad()).get("/").status == 200
    assert len(errors) == 1


def test_redirect(plugserve_server: ServerFactory) -> None:
    class Redirects(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            request.redirect(b"http://example.com/elsewhere")
            request.finish()
            return NOT_DONE_YET

    response = plugserve_server(Redirects()).get("/")
    assert response.status == 302
    assert response.header("Location") == "http://example.com/elsewhere"
    assert response.body == b""


# -- cookies --------------------------------------------------------------------------------------


def test_get_cookie(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(lambda r: {
        "a": r.getCookie(b"a"), "b": r.getCookie(b"b"), "quoted": r.getCookie(b"q"),
        "missing": r.getCookie(b"missing"), "all": r.received_cookies,
    }))
    got = probe(server, headers={"Cookie": 'a=1; b=2;q="quoted";  junk; a=3'})
    assert got == {"a": "3", "b": "2", "quoted": '"quoted"', "missing": None,
                   "all": {"a": "3", "b": "2", "q": '"quoted"'}}


def test_add_cookie_exact_bytes(plugserve_server: ServerFactory) -> None:
    class Cookies(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.addCookie(b"plain", b"v")
            request.addCookie(
                "full", "value", expires="Wed, 21 Oct 2026 07:28:00 GMT", domain=b"example.com",
                path="/p", max_age=3600, comment=b"a comment", secure=True, httpOnly=True,
                sameSite="Strict",
            )
            request.addCookie(b"bad;name", b"b;c\r\nd\re\nf", path=b"/x;y", domain="d\r\n.com")
            request.addCookie(b"lax", b"1", sameSite="lax")
            return b"x"

    response = plugserve_server(Cookies()).get("/")
    assert response.headers.get_all("Set-Cookie") == [
        "plain=v",
        "full=value; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Domain=example.com; Path=/p; "
        "Max-Age=3600; Comment=a comment; Secure; HttpOnly; SameSite=strict",
        "bad name=b c d e f; Domain=d .com; Path=/x y",
        "lax=1; SameSite=lax",
    ]


def test_add_cookie_rejects_bad_same_site(plugserve_server: ServerFactory) -> None:
    errors: list[str] = []

    class Cookies(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            for kwargs in ({"sameSite": "bogus"}, {"sameSite": "none"}):
                try:
                    request.addCookie(b"k", b"v", **kwargs)
                except ValueError as exc:
                    errors.append(str(exc))
            request.addCookie(b"k", b"v", sameSite="None", secure=True)
            return b"x"

    response = plugserve_server(Cookies()).get("/")
    assert len(errors) == 2
    assert response.headers.get_all("Set-Cookie") == ["k=v; Secure; SameSite=none"]


# -- addresses and URLs ---------------------------------------------------------------------------


def addresses(request: Any) -> Any:
    client = request.getClientAddress()
    host = request.getHost()
    return {
        "client": [type(client).__name__, client.type, client.host, client.port],
        "host": [type(host).__name__, host.type, host.host, host.port],
        "ip": request.getClientIP(),
        "hostname": request.getRequestHostname(),
        "secure": request.isSecure(),
        "prepath_url": request.prePathURL(),
    }


def test_client_and_host_addresses(plugserve_server: ServerFactory) -> None:
    root = Resource()
    root.putChild(b"a", Probe(addresses))
    server = plugserve_server(root)
    with socket.create_connection((server.host, server.port)) as sock:
        local_port = sock.getsockname()[1]
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    got = json.loads(data.partition(b"\r\n\r\n")[2])
    assert got["client"] == ["IPv4Address", "TCP", "127.0.0.1", local_port]
    assert got["host"] == ["IPv4Address", "TCP", "127.0.0.1", server.port]
    assert got["ip"] == "127.0.0.1"
    assert got["hostname"] == "example.com"
    assert got["secure"] is False
    assert got["prepath_url"] == "http://example.com/a"


@pytest.mark.parametrize(
    ("host", "hostname", "url"),
    [
        ("example.com", "example.com", "http://example.com/a/b%20c"),
        ("Example.COM:8080", "Example.COM", "http://Example.COM:8080/a/b%20c"),
        ("example.com:80", "example.com", "http://example.com/a/b%20c"),
        ("[::1]", "::1", "http://[::1]/a/b%20c"),
        ("[::1]:8443", "::1", "http://[::1]:8443/a/b%20c"),
        ("127.0.0.1:9", "127.0.0.1", "http://127.0.0.1:9/a/b%20c"),
    ],
)
def test_request_hostname_and_prepath_url(
    plugserve_server: ServerFactory,
    host: str,
    hostname: str,
    url: str,
) -> None:
    root = Resource()
    a = Resource()
    root.putChild(b"a", a)
    a.putChild(b"b c", Probe(addresses))
    server = plugserve_server(root)
    got = probe(server, path="/a/b%20c/rest", headers={"Host": host})
    assert got["hostname"] == hostname
    # Unlike Twisted (Host name + socket port), the port comes from the Host header.
    assert got["prepath_url"] == url


def test_request_hostname_without_host_header(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(addresses))
    data = raw_exchange(server, b"GET / HTTP/1.0\r\n\r\n")
    got = json.loads(data.partition(b"\r\n\r\n")[2])
    assert got["hostname"] == "127.0.0.1"
    assert got["prepath_url"] == f"http://127.0.0.1:{server.port}/"


def test_set_host(plugserve_server: ServerFactory) -> None:
    def inspect(request: Any) -> Any:
        request.setHost(b"proxied.example", 443, ssl=1)
        secure = [request.isSecure(), request.getHeader(b"host"), request.prePathURL(),
                  request.getHost().port]
        request.setHost(b"plain.example", 8000)
        plain = [request.isSecure(), request.getHeader(b"host"), request.prePathURL(),
                 request.getHost().host]
        return [secure, plain]

    root = Resource()
    root.putChild(b"p", Probe(inspect))
    got = probe(plugserve_server(root), path="/p")
    assert got == [
        [True, "proxied.example", "https://proxied.example/p", 443],
        [False, "plain.example:8000", "http://plain.example:8000/p", "plain.example"],
    ]


def test_basic_auth(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(lambda r: [r.getUser(), r.getPassword()]))

    def auth(value: str) -> Any:
        return probe(server, headers={"Authorization": value})

    token = base64.b64encode(b"alice:se:cret").decode()
    assert auth("Basic " + token) == ["alice", "se:cret"]
    assert auth("basic " + token) == ["alice", "se:cret"]
    assert auth("Basic " + base64.b64encode(b"nocolon").decode()) == ["", ""]
    assert auth("Basic !!notbase64!!") == ["", ""]
    assert auth("Bearer " + token) == ["", ""]
    assert probe(server) == ["", ""]


# -- conditional requests -------------------------------------------------------------------------

MTIME = 1_700_000_000.25  # rounded up to ...001


class Conditional(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        if request.setLastModified(MTIME) is CACHED:
            return b""
        if request.setETag(b'"v1"') is CACHED:
            return b""
        return b"the full body"

    render_POST = render_GET


def test_if_modified_since(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Conditional())
    fresh = server.get("/")
    assert fresh.status == 200
    assert fresh.header("Last-Modified") == formatdate(1_700_000_001, usegmt=True)
    assert fresh.header("ETag") == '"v1"'
    for since in (1_700_000_001, 1_700_000_500):
        response = server.get("/", {"If-Modified-Since": formatdate(since, usegmt=True)})
        assert response.status == 304
        assert response.body == b""
        assert response.header("Content-Type") is None
    stale = server.get("/", {"If-Modified-Since": formatdate(1_700_000_000, usegmt=True)})
    assert stale.status == 200
    assert stale.body == b"the full body"
    for bad in ("not a date", "Mon, 01 Jan 1900 00:00:00 GMT"):
        assert server.get("/", {"If-Modified-Since": bad}).status == 200


def test_if_none_match(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Conditional())
    for value in ('"v1"', '"x", "v1"', '"x" "v1"', "*", 'W/"v1"'):
        response = server.get("/", {"If-None-Match": value})
        assert response.status == 304, value
        assert response.body == b""
        assert response.header("ETag") == '"v1"'
    assert server.get("/", {"If-None-Match": '"v2"'}).status == 200
    # For other methods a match is a failed precondition.
    response = server.request("POST", "/", {"If-None-Match": '"v1"'}, b"")
    assert response.status == 412


def test_304_drops_a_returned_body_and_its_length(plugserve_server: ServerFactory) -> None:
    """Unlike Twisted, a 304 does not announce the length of the body it drops."""

    class Stubborn(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.setETag(b'"s"')
            return b"twelve bytes"

    server = plugserve_server(Stubborn())
    data = server.raw(
        b'GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: "s"\r\n\r\n'
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    first, _, rest = data.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 304 Not Modified\r\n")
    assert b"Content-Length" not in first
    assert b"Content-Type" not in first
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n")
    assert rest.endswith(b"\r\n\r\ntwelve bytes")


def test_304_on_keep_alive_has_no_body(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Conditional())
    conn = server.connection()
    try:
        first = server.request("GET", "/", {"If-None-Match": '"v1"'}, conn=conn)
        second = server.request("GET", "/", conn=conn)
    finally:
        conn.close()
    assert first.status == 304
    assert second.status == 200
    assert second.body == b"the full body"


# -- finishing ------------------------------------------------------------------------------------


def test_notify_finish_fires_on_finish(plugserve_server: ServerFactory) -> None:
    events: list[Any] = []
    done = threading.Event()

    class Watched(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            d = request.notifyFinish()
            d.addCallback(lambda result: events.append(("callback", result)))
            d.addErrback(lambda exc: events.append(("errback", exc)))
            d.addBoth(lambda _: done.set())
            request.write(b"body")
            reactor.callLater(0.01, request.finish)
            return NOT_DONE_YET

    response = plugserve_server(Watched()).get("/")
    assert response.body == b"body"
    assert done.wait(2)
    assert events == [("callback", None)]


def test_notify_finish_is_awaitable(plugserve_server: ServerFactory) -> None:
    events: list[Any] = []
    tasks: list[asyncio.Task[None]] = []  # keep a reference: the loop holds tasks weakly
    done = threading.Event()

    class AwaitsFinish(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            async def watch() -> None:
                result = await request.notifyFinish()
                events.append(("finished", result))
                done.set()

            tasks.append(asyncio.get_running_loop().create_task(watch()))
            reactor.callLater(0.02, request.finish)
            return NOT_DONE_YET

    assert plugserve_server(AwaitsFinish()).get("/").status == 200
    assert done.wait(2)
    assert events == [("finished", None)]


def test_notify_finish_after_finish_fires_at_once(plugserve_server: ServerFactory) -> None:
    events: list[Any] = []
    done = threading.Event()

    class Late(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            request.finish()
            request.notifyFinish().addCallback(events.append)
            done.set()
            return NOT_DONE_YET

    assert plugserve_server(Late()).get("/").status == 200
    assert done.wait(2)
    assert events == [None]


def _disconnect_early(server: Any, path: str = "/", reset: bool = False) -> None:
    """Send a request, read the start of the response, and go away before it is finished:
    with a clean close (FIN), or with `reset` an abortive one (RST, SO_LINGER 0)."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class Abandoned(Resource):
    """Writes once and never finishes; records how notifyFinish ended, through an errback and
    through `await`, and what write/finish do once the client is gone."""

    isLeaf = True

    def __init__(self, keep_writing: bool = False) -> None:
        super().__init__()
        self.keep_writing = keep_writing
        self.events: list[Any] = []
        self.awaited: list[Any] = []
        self.write_results: list[Any] = []
        self.finish_errors: list[BaseException] = []
        self.lost = threading.Event()
        self.tasks: list[asyncio.Task[None]] = []  # the loop holds tasks weakly

    def render_GET(self, request: Any) -> int:
        d = request.notifyFinish()
        d.addCallback(lambda _: self.events.append("callback"))

        def on_error(exc: BaseException) -> None:
            self.events.append(exc)
            # Writing after the client went away is silently ignored; finish raises.
            self.write_results.append(request.write(b"ignored"))
            try:
                request.finish()
            except RuntimeError as err:
                self.finish_errors.append(err)

        d.addErrback(on_error)

        async def watch() -> None:
            try:
                await request.notifyFinish()
                self.awaited.append("finished")
            except ConnectionLost as exc:
                self.awaited.append(exc)
            self.lost.set()

        self.tasks.append(asyncio.get_running_loop().create_task(watch()))
        request.write(b"started")
        if self.keep_writing:
            def tick() -> None:
                if not request.finished and not request._disconnected:
                    request.write(b".")
                    reactor.callLater(0.05, tick)

            reactor.callLater(0.05, tick)
        return NOT_DONE_YET

    def check(self) -> None:
        assert self.lost.wait(2), "notifyFinish did not fail after the client disconnected"
        assert len(self.events) == 1
        assert isinstance(self.events[0], ConnectionLost)
        assert len(self.awaited) == 1
        assert isinstance(self.awaited[0], ConnectionLost)
        assert self.write_results == [None]
        assert len(self.finish_errors) == 1


def test_notify_finish_fails_when_client_resets(plugserve_server: ServerFactory) -> None:
    resource = Abandoned()
    server = plugserve_server(resource)
    _disconnect_early(server, reset=True)
    resource.check()
    # The server keeps serving.
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_notify_finish_fails_when_streaming_to_a_closed_client(
    plugserve_server: ServerFactory,
) -> None:
    """A clean close is noticed at the latest when the next write meets the reset socket."""
    resource = Abandoned(keep_writing=True)
    _disconnect_early(plugserve_server(resource))
    resource.check()


def test_notify_finish_fails_when_client_closes_cleanly(plugserve_server: ServerFactory) -> None:
    resource = Abandoned()
    _disconnect_early(plugserve_server(resource))
    resource.check()


def test_write_after_finish_raises(plugserve_server: ServerFactory) -> None:
    errors: list[BaseException] = []
    done = threading.Event()

    class Twice(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            request.write(b"once")
            request.finish()
            try:
                request.write(b"twice")
            except RuntimeError as exc:
                errors.append(exc)
            request.finish()  # a second finish is harmless
            if len(errors) == 2:
                done.set()
            return NOT_DONE_YET

    server = plugserve_server(Twice())
    conn = server.connection()
    try:
        first = server.request("GET", "/", conn=conn)
        second = server.request("GET", "/", conn=conn)
    finally:
        conn.close()
    assert first.body == second.body == b"once"
    assert done.wait(2)
    assert len(errors) == 2


def test_write_after_bytes_result_finished_raises(plugserve_server: ServerFactory) -> None:
    errors: list[BaseException] = []
    done = threading.Event()

    class Later(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            def late() -> None:
                try:
                    request.write(b"late")
                except RuntimeError as exc:
                    errors.append(exc)
                done.set()

            reactor.callLater(0.01, late)
            return b"done"

    assert plugserve_server(Later()).get("/").body == b"done"
    assert done.wait(2)
    assert len(errors) == 1


def test_write_rejects_str(plugserve_server: ServerFactory) -> None:
    errors: list[BaseException] = []

    class Str(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            try:
                request.write("text")
            except TypeError as exc:
                errors.append(exc)
            request.write(b"bytes")
            request.finish()
            return NOT_DONE_YET

    assert plugserve_server(Str()).get("/").body == b"bytes"
    assert len(errors) == 1


def test_request_attributes(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Probe(lambda r: {
        "method": r.method, "uri": r.uri, "path": r.path, "clientproto": r.clientproto,
        "code": r.code, "started": r.startedWriting, "finished": r.finished,
        "content_type": type(r.content).__name__ if isinstance(r.content, io.IOBase) else "?",
        "started_at": abs(time.time() - r.started) < 60,
    }))
    got = probe(server, path="/a%20b/c?x=1")
    assert got == {
        "method": "GET", "uri": "/a%20b/c?x=1", "path": "/a%20b/c", "clientproto": "HTTP/1.1",
        "code": 200, "started": False, "finished": False, "content_type": "BytesIO",
        "started_at": True,
    }


def test_retarget_traverses_again_from_the_root(plugserve_server: ServerFactory) -> None:
    """`retarget(uri)` starts path, query, args and traversal over, as a CGI local redirect
    needs; a target that is not a path is a ValueError."""

    class Redirecting(Resource):
        isLeaf = True

        def render(self, request: Any) -> Any:
            with pytest.raises(ValueError, match="needs a path"):
                request.retarget(b"//elsewhere/x")
            assert request.args == {b"a": [b"1"]}
            request.retarget(b"/probe/x%2Fy?b=2")
            return request.site.getResourceFor(request).render(request)

    root = Resource()
    root.putChild(b"go", Redirecting())
    root.putChild(b"probe", Probe(lambda r: {"uri": r.uri, "path": r.path, "args": r.args,
                                             "prepath": r.prepath, "postpath": r.postpath}))
    server = plugserve_server(root)
    assert probe(server, path="/go/there?a=1") == {
        "uri": "/probe/x%2Fy?b=2", "path": "/probe/x%2Fy", "args": {"b": ["2"]},
        "prepath": ["probe"], "postpath": ["x/y"]}
