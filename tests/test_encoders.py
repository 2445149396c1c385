"""Response encoding: EncodingResourceWrapper, GzipEncoderFactory and Site-wide encoders.

Reference: shared/reference/twisted-web.md §1.12.  plugserve fixes Twisted's gzip bugs on
purpose: q-values and case are honoured (`GZIP`, `gzip;q=0.5`, `*`; not `gzip;q=0`),
`Vary: Accept-Encoding` is always sent, and HEAD/304 responses carry no stray gzip bytes.
"""

from __future__ import annotations

import gzip
import http.client
import io
import socket
from collections.abc import Callable
from typing import Any

import pytest
from plugserve import reactor
from plugserve.encoders import GzipEncoderFactory
from plugserve.http import CACHED
from plugserve.resource import EncodingResourceWrapper, Resource
from plugserve.server import NOT_DONE_YET, Site
from plugserve.testing import TestServer

ServerFactory = Callable[..., TestServer]

BODY = b"<html>" + b"Hello, world! " * 200 + b"</html>"


class Simple(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return BODY


class Streaming(Resource):
    """Writes the body in pieces, the last ones from callLater, then finishes."""

    isLeaf = True

    def render_GET(self, request: Any) -> int:
        pieces = [BODY[i:i + 500] for i in range(0, len(BODY), 500)]
        request.write(pieces[0])

        def more(rest: list[bytes]) -> None:
            if not rest:
                request.finish()
                return
            request.write(rest[0])
            reactor.callLater(0.001, more, rest[1:])

        reactor.callLater(0.001, more, pieces[1:])
        return NOT_DONE_YET


class Conditional(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        if request.setETag(b'"tag"') is CACHED:
            return b""
        return BODY


class AlreadyEncoded(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"content-encoding", b"br")
        return b"pretend-brotli"


def wrapped(resource: Resource) -> EncodingResourceWrapper:
    return EncodingResourceWrapper(resource, [GzipEncoderFactory()])


def read_raw(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def parse_responses(data: bytes, methods: list[str]) -> list[tuple[int, Any, bytes]]:
    """Parse pipelined responses strictly (http.client rejects stray bytes between them)."""

    class Unclosable(io.BytesIO):
        def close(self) -> None:
            pass

    class FakeSocket:
        def __init__(self, data: bytes) -> None:
            self.file = Unclosable(data)

        def makefile(self, mode: str) -> Unclosable:
            return self.file

    fake = FakeSocket(data)
    results = []
    for method in methods:
        response = http.client.HTTPResponse(fake, method=method)  # type: ignore[arg-type]
        response.begin()
        results.append((response.status, response.headers, response.read()))
    assert fake.file.read() == b"", "stray bytes after the last response"
    return results


@pytest.mark.parametrize(
    "accept",
    ["gzip", "GZIP", "gzip;q=0.5", "deflate, gzip", "*", "br,gzip", "gzip ; q=1.0",
     "x-gzip", "identity;q=0.5, gzip;q=0.1"],
)
def test_gzip_when_accepted(plugserve_server: ServerFactory, accept: str) -> None:
    server = plugserve_server(wrapped(Simple()))
    response = server.get("/", {"Accept-Encoding": accept})
    assert response.status == 200
    assert response.header("Content-Encoding") == "gzip"
    assert response.header("Vary") == "Accept-Encoding"
    assert gzip.decompress(response.body) == BODY
    assert len(response.body) < len(BODY)
    # A bytes result is compressed in one go: it still gets an exact Content-Length.
    assert response.header("Content-Length") == str(len(response.body))


@pytest.mark.parametrize("accept", [None, "gzip;q=0", "identity", "deflate", "br, gzip;q=0",
                                    "*;q=0", ""])
def test_no_gzip_when_not_accepted(plugserve_server: ServerFactory, accept: str | None) -> None:
    server = plugserve_server(wrapped(Simple()))
    response = server.get("/", {"Accept-Encoding": accept} if accept is not None else {})
    assert response.status == 200
    assert response.header("Content-Encoding") is None
    assert response.header("Vary") == "Accept-Encoding"
    assert response.body == BODY
    assert response.header("Content-Length") == str(len(BODY))


def test_gzip_across_several_accept_encoding_headers(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(wrapped(Simple()))
    data = server.raw(
        b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: deflate\r\nAccept-Encoding: gzip\r\n"
        b"Connection: close\r\n\r\n"
    )
    [(status, headers, body)] = parse_responses(data, ["GET"])
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == BODY


def test_gzip_streaming_writes_are_chunked(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(wrapped(Streaming()))
    response = server.get("/", {"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.header("Content-Encoding") == "gzip"
    assert response.header("Transfer-Encoding") == "chunked"
    assert response.header("Content-Length") is None
    assert gzip.decompress(response.body) == BODY
    plain = server.get("/")
    assert plain.header("Content-Encoding") is None
    assert plain.body == BODY


def test_gzip_streaming_on_keep_alive(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(wrapped(Streaming()))
    conn = server.connection()
    try:
        for _ in range(3):
            response = server.request("GET", "/", {"Accept-Encoding": "gzip"}, conn=conn)
            assert gzip.decompress(response.body) == BODY
    finally:
        conn.close()


def test_head_has_no_stray_bytes_and_pipelined_get_parses(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(wrapped(Simple()))
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(
            b"HEAD / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"
            b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
        )
        data = read_raw(sock)
    (head_status, head_headers, head_body), (get_status, get_headers, get_body) = \
        parse_responses(data, ["HEAD", "GET"])
    assert head_status == 200
    assert head_body == b""
    assert head_headers["Vary"] == "Accept-Encoding"
    assert get_status == 200
    assert get_headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(get_body) == BODY


def test_head_of_streamed_resource_has_no_stray_bytes(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(wrapped(Streaming()))
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(
            b"HEAD / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"
            b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
        )
        data = read_raw(sock)
    (_, _, head_body), (get_status, _, get_body) = parse_responses(data, ["HEAD", "GET"])
    assert head_body == b""
    assert get_status == 200
    assert gzip.decompress(get_body) == BODY


def test_304_has_no_stray_bytes(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(wrapped(Conditional()))
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(
            b'GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nIf-None-Match: "tag"\r\n\r\n'
            b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
        )
        data = read_raw(sock)
    (status304, headers304, body304), (status, headers, body) = \
        parse_responses(data, ["GET", "GET"])
    assert status304 == 304
    assert body304 == b""
    assert headers304["Content-Encoding"] is None
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    # The strong ETag of the identity body becomes weak for the gzipped one.
    assert headers["ETag"] == 'W/"tag"'
    assert gzip.decompress(body) == BODY


def test_already_encoded_response_is_left_alone(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(wrapped(AlreadyEncoded()))
    response = server.get("/", {"Accept-Encoding": "gzip"})
    assert response.header("Content-Encoding") == "br"
    assert response.body == b"pretend-brotli"
    assert response.header("Content-Length") == str(len(b"pretend-brotli"))


def test_vary_is_appended_to_existing_vary(plugserve_server: ServerFactory) -> None:
    class Varies(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.setHeader(b"vary", b"Cookie")
            return BODY

    response = plugserve_server(wrapped(Varies())).get("/", {"Accept-Encoding": "gzip"})
    assert response.headers.get_all("Vary") == ["Cookie", "Accept-Encoding"]
    assert gzip.decompress(response.body) == BODY


def test_children_of_wrapped_resource_are_not_encoded(plugserve_server: ServerFactory) -> None:
    root = Resource()
    root.putChild(b"child", Simple())
    root.putChild(b"", Simple())
    server = plugserve_server(wrapped(root))
    child = server.get("/child", {"Accept-Encoding": "gzip"})
    assert child.header("Content-Encoding") is None
    assert child.body == BODY


def test_error_pages_of_wrapped_resource(plugserve_server: ServerFactory) -> None:
    class Boom(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            raise RuntimeError("boom")

    response = plugserve_server(wrapped(Boom())).get("/", {"Accept-Encoding": "gzip"})
    assert response.status == 500
    assert b"Processing Failed" in response.body
    assert response.header("Content-Encoding") is None


def test_site_wide_encoders_compress_children(plugserve_server: ServerFactory) -> None:
    root = Resource()
    sub = Resource()
    root.putChild(b"sub", sub)
    sub.putChild(b"page", Simple())
    sub.putChild(b"stream", Streaming())
    site = Site(root)
    site.use_encoders([GzipEncoderFactory()])
    server = plugserve_server(site)
    for path in ("/sub/page", "/sub/stream"):
        response = server.get(path, {"Accept-Encoding": "gzip"})
        assert response.status == 200
        assert response.header("Content-Encoding") == "gzip"
        assert response.header("Vary") == "Accept-Encoding"
        assert gzip.decompress(response.body) == BODY
        plain = server.get(path)
        assert plain.header("Content-Encoding") is None
        assert plain.header("Vary") == "Accept-Encoding"
        assert plain.body == BODY
    missing = server.get("/nothing", {"Accept-Encoding": "gzip"})
    assert missing.status == 404
    assert b"No Such Resource" in gzip.decompress(missing.body)


def test_site_wide_encoders_with_config_encode(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Simple(), encode=("gzip",))
    response = server.get("/", {"Accept-Encoding": "gzip"})
    assert response.header("Content-Encoding") == "gzip"
    assert gzip.decompress(response.body) == BODY


def test_already_compressed_types_are_not_gzipped(plugserve_server: ServerFactory) -> None:
    class Png(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.setHeader(b"content-type", b"image/png")
            return b"\x89PNG" + b"\x00" * 100

    response = plugserve_server(wrapped(Png())).get("/", {"Accept-Encoding": "gzip"})
    assert response.header("Content-Encoding") is None
    assert response.body == b"\x89PNG" + b"\x00" * 100


def test_gzip_empty_streamed_body(plugserve_server: ServerFactory) -> None:
    class Empty(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            reactor.callLater(0.001, request.finish)
            return NOT_DONE_YET

    response = plugserve_server(wrapped(Empty())).get("/", {"Accept-Encoding": "gzip"})
    assert response.status == 200
    if response.header("Content-Encoding") == "gzip":
        assert gzip.decompress(response.body) == b""
    else:
        assert response.body == b""
