"""Upstreams for the proxy tests, all real servers on real sockets: a plugserve site that echoes
what reached it as JSON, and a raw-socket server that answers each connection with scripted
bytes (a hostile upstream) and records what it was sent."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET

__all__ = ["Echo", "ScriptedUpstream"]


class Echo(Resource):
    """Answers with what it got: method, uri, headers (in order, repeats kept), body length,
    and the client port (distinct ports = distinct connections).  /set-cookies sets two
    cookies; /big?n=N streams N bytes; /upgrade answers 101 and echoes."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.ports: set[int] = set()
        self.requests: list[dict[str, Any]] = []

    def render(self, request: Any) -> Any:
        self.ports.add(request.client.port)
        body = request.content.read()
        seen = {"method": request.method.decode(), "uri": request.uri.decode(),
                "headers": [[n.decode().lower(), v.decode()]
                            for n, vs in request.requestHeaders.getAllRawHeaders() for v in vs],
                "body_length": len(body)}
        self.requests.append(seen)
        if request.path == b"/set-cookies":
            request.responseHeaders.addRawHeader(b"set-cookie", b"a=1")
            request.responseHeaders.addRawHeader(b"set-cookie", b"b=2")
            request.setHeader(b"connection", b"x-secret")
            request.setHeader(b"x-secret", b"hop")
            request.setHeader(b"keep-alive", b"timeout=5")
        if request.path == b"/big":
            size = int(request.args[b"n"][0])
            return self._big(request, size)
        if request.path == b"/upgrade" and request.getHeader(b"upgrade"):
            request.setResponseCode(101)
            request.setHeader(b"upgrade", b"websocket")
            transport, buffered = request.take_over_transport(_EchoProtocol)
            transport.write(buffered)
            return NOT_DONE_YET
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(seen).encode()

    async def _big(self, request: Any, size: int) -> None:
        request.setHeader(b"content-type", b"application/octet-stream")
        if b"nolength" not in request.uri:
            request.setHeader(b"content-length", str(size).encode())
        block = b"x" * 65536
        while size > 0:
            request.write(block[:size])
            size -= len(block)
            await request.wait_writable()
        request.finish()


class _EchoProtocol:
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: object) -> None:
        pass

    def pause_writing(self) -> None:
        pass

    def resume_writing(self) -> None:
        pass


class ScriptedUpstream:
    """A TCP server that reads each request head and answers `script` (raw bytes), then closes
    unless `keep_open`; `received` holds each connection's bytes."""

    def __init__(self, script: bytes, keep_open: bool = False) -> None:
        self.script = script
        self.keep_open = keep_open
        self.received: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            data = b""
            conn.settimeout(5)
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.received.append(data)
                if self.script:
                    conn.sendall(self.script)
            except OSError:
                pass
            if self.keep_open:
                self._open.append(conn)
            else:
                conn.close()

    def close(self) -> None:
        self._sock.close()
        for conn in self._open:
            conn.close()

    def __enter__(self) -> ScriptedUpstream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def lines(raw: bytes) -> Iterator[bytes]:
    """The header lines of a raw request head."""
    yield from raw.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]
