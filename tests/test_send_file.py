"""`Request.send_file` and `Request.wait_writable`: file bodies through sendfile and through the
chunked fallback (Config.sendfile=False, TLS, no Content-Length, an encoder), over real sockets."""

from __future__ import annotations

import os

import pytest
from plugserve._protocol.h11_engine import HTTPConnection
from plugserve.resource import Resource

DATA = os.urandom(300 * 1024 + 17)


class FileBody(Resource):
    """Serves DATA[offset:offset+count] from a file, with or without a Content-Length."""

    isLeaf = True

    def __init__(self, path, length=True):
        super().__init__()
        self.path = path
        self.length = length

    async def _send(self, request):
        offset = int(request.args.get(b"offset", [b"0"])[0])
        count = int(request.args.get(b"count", [str(len(DATA) - offset).encode()])[0])
        if self.length:
            request.setHeader(b"content-length", str(count).encode())
        request.setHeader(b"content-type", b"application/octet-stream")
        with open(self.path, "rb") as f:
            await request.send_file(f, offset, count)
        await request.wait_writable()
        request.finish()

    def render_GET(self, request):
        return self._send(request)

    render_HEAD = render_GET


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    return str(path)


@pytest.fixture
def sendfile_calls(monkeypatch):
    calls = []
    original = HTTPConnection.skip_body

    def spy(self, count):
        calls.append(count)
        original(self, count)

    monkeypatch.setattr(HTTPConnection, "skip_body", spy)
    return calls


@pytest.mark.parametrize("use_sendfile", [True, False], ids=["sendfile", "fallback"])
@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        pytest.param("", 0, len(DATA), id="whole"),
        pytest.param("?offset=1000&count=70000", 1000, 71000, id="slice"),
        pytest.param("?offset=5&count=1", 5, 6, id="one-byte"),
    ],
)
def test_body_is_exact(plugserve_server, data_file, sendfile_calls, use_sendfile, query, start,
                       end):
    server = plugserve_server(FileBody(data_file), sendfile=use_sendfile)
    conn = server.connection()
    for _ in range(2):  # keep-alive: h11's state is right after a sendfile body
        response = server.request("GET", "/" + query, conn=conn)
        assert response.status == 200
        assert response.body == DATA[start:end]
    conn.close()
    assert bool(sendfile_calls) is use_sendfile


def test_without_content_length_falls_back_to_chunks(plugserve_server, data_file,
                                                      sendfile_calls):
    server = plugserve_server(FileBody(data_file, length=False))
    response = server.get("/")
    assert response.header("Transfer-Encoding") == "chunked"
    assert response.body == DATA
    assert sendfile_calls == []


def test_encoder_falls_back_and_encodes(plugserve_server, data_file, sendfile_calls):
    import gzip

    server = plugserve_server(FileBody(data_file), encode=("gzip",))
    response = server.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.header("Content-Encoding") == "gzip"
    assert gzip.decompress(response.body) == DATA
    assert sendfile_calls == []


def test_head_sends_no_body(plugserve_server, data_file):
    server = plugserve_server(FileBody(data_file))
    response = server.request("HEAD", "/")
    assert response.status == 200
    assert response.header("Content-Length") == str(len(DATA))
    assert response.body == b""


def test_no_sendfile_flag_sets_config():
    from plugserve._plugins import make_plugin_manager
    from plugserve.cli import build_parser, config_from_args

    parser = build_parser(make_plugin_manager())
    assert config_from_args(parser.parse_args([])).sendfile is True
    assert config_from_args(parser.parse_args(["--no-sendfile"])).sendfile is False


class Writer(Resource):
    """Writes 64 KiB pieces for as long as the client reads, waiting to be writable."""

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.ended = None

    async def _write(self, request):
        try:
            while True:
                request.write(b"w" * 65536)
                await request.wait_writable()
        finally:
            self.ended = True

    def render_GET(self, request):
        return self._write(request)


def test_a_client_leaving_during_wait_writable_is_no_error(plugserve_server, caplog):
    """The render that waits to write ends when the client leaves, without an error (and
    its traceback) in the log: a client closing early is no fault of the server's."""
    import socket

    from plugserve.testing import eventually

    resource = Writer()
    server = plugserve_server(resource)
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    sock.close()
    assert eventually(lambda: resource.ended)
    assert "Error while rendering" not in caplog.text
