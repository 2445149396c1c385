# docs/examples/tunnel.py
"""Taking over a connection: a CONNECT tunnel and an `Upgrade: echo` protocol.

    plugserve --config docs/examples/tunnel.py
    curl -p -x http://127.0.0.1:8080 http://127.0.0.1:8080/    # through the tunnel, to itself

CONNECT HOST:PORT opens a TCP connection to HOST:PORT, answers 200, and relays the bytes both
ways (the client's TLS handshake, usually) until either side closes.  Only loopback targets are
allowed: a proxy open to any host is an abuse magnet, so say which targets you mean.
GET /echo with `Connection: upgrade` and `Upgrade: echo` answers 101 and echoes every byte.
"""

import asyncio

from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET

ALLOWED_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


async def pipe(reader, writer):
    """Copy reader to writer until end of file, then close the writer (and so its socket)."""
    try:
        while data := await reader.read(64 * 1024):
            writer.write(data)
            await writer.drain()  # back-pressure: read no faster than the other side takes
    finally:
        writer.close()


class Tunnel(Resource):
    """CONNECT host:port (RFC 9110 §9.3.6): a 2xx, then raw bytes both ways."""

    isLeaf = True

    async def render_CONNECT(self, request):
        host, _, port = request.uri.decode("ascii").rpartition(":")
        if host not in ALLOWED_HOSTS or not port.isdigit():
            request.setResponseCode(403)
            return b"tunnels go to loopback addresses only\n"
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                host.strip("[]"), int(port)
            )
        except OSError as exc:
            request.setResponseCode(502)
            return f"cannot connect to {host}:{port}: {exc.strerror}\n".encode()
        request.setResponseCode(200, b"Connection established")
        # The reader starts with whatever the client sent right after the CONNECT head.
        reader, writer = await request.take_over()
        # Either side closing ends both pipes: each closes the writer it fed, which ends the
        # read on the other side's socket too.
        await asyncio.gather(
            pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True
        )


class EchoProtocol(asyncio.Protocol):
    """The protocol the connection speaks after the 101: every byte comes back."""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


class Echo(Resource):
    """GET /echo with `Upgrade: echo` (RFC 9110 §7.8): 101, then the lower-level takeover."""

    isLeaf = True

    def render_GET(self, request):
        offered = (request.getHeader(b"upgrade") or b"").lower().split(b",")
        if b"echo" not in [token.strip() for token in offered]:
            request.setResponseCode(426)  # Upgrade Required
            request.setHeader(b"upgrade", b"echo")
            request.setHeader(b"connection", b"upgrade")
            return b"send Connection: upgrade and Upgrade: echo\n"
        request.setResponseCode(101)
        request.setHeader(b"upgrade", b"echo")
        transport, buffered = request.take_over_transport(EchoProtocol)
        transport.write(buffered)  # the bytes that came with the head come back first
        return NOT_DONE_YET  # the request is finished already: the connection is the echo's


class Root(Resource):
    """GET / explains; CONNECT goes to the tunnel whatever its target; /echo echoes."""

    def __init__(self):
        super().__init__()
        self.tunnel = Tunnel()
        self.putChild(b"echo", Echo())

    def getChild(self, path, request):
        if request.method == b"CONNECT":  # the target host:port arrives as the one segment
            return self.tunnel
        if path == b"":  # GET /
            return self
        return super().getChild(path, request)

    def render_GET(self, request):
        return b"CONNECT 127.0.0.1:PORT tunnels; GET /echo with Upgrade: echo echoes.\n"


root = Root()
