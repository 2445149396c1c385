"""A raw HTTP/1.1 client for tests: a socket, a strict response reader, nothing more.

http.client (what `TestServer.request` uses) repairs and hides what a server got wrong: a
bad framing, a missing CRLF, a Content-Length that lies.  These read a response exactly as it
is on the wire and fail the test on any framing error; `RawClient` keeps one connection open
for keep-alive, pipelining, 100-continue and timeout tests, and sends bytes as they are, for
malformed input.  Public through `plugserve.testing`.
"""

from __future__ import annotations

import io
import json
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Self

__all__ = ["RawClient", "RawResponse", "parse_responses", "read_response"]


@dataclass
class RawResponse:
    """One response as it was on the wire (1xx responses are their own RawResponse)."""

    version: bytes
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    chunked: bool = False

    def header(self, name: bytes) -> bytes | None:
        """The last value of header `name` (case-insensitive), or None."""
        values = self.all(name)
        return values[-1] if values else None

    def all(self, name: bytes) -> list[bytes]:
        """Every value of header `name` (case-insensitive), in order."""
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    @property
    def closes(self) -> bool:
        """True when the response announces `Connection: close`."""
        return any(v.lower().find(b"close") >= 0 for v in self.all(b"connection"))


def _line(stream: BinaryIO) -> bytes:
    line = stream.readline(65537)
    assert line.endswith(b"\r\n"), f"response line not ended by CRLF: {line!r}"
    return line[:-2]


def _chunked(stream: BinaryIO) -> bytes:
    body: list[bytes] = []
    while True:
        size_line = _line(stream)
        size_text = size_line.split(b";", 1)[0]
        assert size_text and all(c in b"0123456789abcdefABCDEF" for c in size_text), size_line
        size = int(size_text, 16)
        if size == 0:
            while _line(stream):  # trailers
                pass
            return b"".join(body)
        data = stream.read(size)
        assert len(data) == size, f"chunk truncated: {len(data)} of {size}"
        body.append(data)
        assert stream.read(2) == b"\r\n", "chunk data not followed by CRLF"


def read_response(stream: BinaryIO, method: bytes = b"GET") -> RawResponse | None:
    """Read one response from `stream` (None at a clean end of file); `method` for HEAD."""
    first = stream.readline(65537)
    if not first:
        return None
    assert first.endswith(b"\r\n"), f"bad status line: {first!r}"
    version, status, reason = [*first[:-2].split(b" ", 2), b""][:3]
    assert version.startswith(b"HTTP/1."), first
    response = RawResponse(version, int(status), reason)
    while line := _line(stream):
        name, sep, value = line.partition(b":")
        assert sep and name == name.strip(), f"bad response header line: {line!r}"
        response.headers.append((name, value.strip(b" \t")))
    code = response.status
    if code < 200 or code in (204, 304) or method == b"HEAD":
        return response
    if response.header(b"transfer-encoding") is not None:
        assert response.header(b"transfer-encoding") == b"chunked"
        assert response.header(b"content-length") is None, "both Content-Length and chunked"
        response.chunked = True
        response.body = _chunked(stream)
    elif (length := response.header(b"content-length")) is not None:
        response.body = stream.read(int(length))
        assert len(response.body) == int(length), "body shorter than its Content-Length"
    else:
        response.body = stream.read()  # delimited by the close
    return response


def parse_responses(data: bytes, methods: Sequence[bytes] = ()) -> list[RawResponse]:
    """Every response in `data`; `methods[i]` is the method of the i-th final response."""
    stream = io.BytesIO(data)
    responses: list[RawResponse] = []
    finals = 0
    while True:
        method = methods[finals] if finals < len(methods) else b"GET"
        response = read_response(stream, method)
        if response is None:
            return responses
        responses.append(response)
        if response.status >= 200:
            finals += 1


class RawClient:
    """One client socket with a buffered reader; use as a context manager."""

    def __init__(
        self,
        address: Any,
        family: int = socket.AF_INET,
        timeout: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> None:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            if ssl_context is not None:
                sock = ssl_context.wrap_socket(sock, server_hostname=server_hostname)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.stream: BinaryIO = sock.makefile("rb")

    @classmethod
    def to(cls, server: Any, timeout: float = 5.0) -> RawClient:
        """A client connected to a TestServer's TCP port."""
        return cls((server.host, server.port), timeout=timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the reader and the socket."""
        self.stream.close()
        self.sock.close()

    def send(self, data: bytes) -> None:
        """Send all of `data`."""
        self.sock.sendall(data)

    def try_send(self, data: bytes) -> bool:
        """Send `data` unless the server has already closed (it may answer a limit early)."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True

    def response(self, method: bytes = b"GET") -> RawResponse:
        """The next response (1xx included); fails if the server closed instead."""
        response = read_response(self.stream, method)
        assert response is not None, "the server closed the connection instead of answering"
        return response

    def closed_by_server(self, timeout: float = 5.0) -> bool:
        """True if the server closes (EOF or reset) within `timeout` with nothing more to say.

        Fails if the server sends more bytes instead: nothing is expected after a response that
        ends the connection."""
        self.sock.settimeout(timeout)
        try:
            extra = self.stream.read(1)
        except TimeoutError:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        assert extra == b"", f"unexpected bytes after the last response: {extra!r}"
        return True

    def read_all(self) -> bytes:
        """Everything until the server closes."""
        try:
            return self.stream.read()
        except ConnectionResetError:
            return b""
