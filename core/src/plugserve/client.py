"""An async HTTP/1.1 client with a keep-alive pool, over TCP and UNIX sockets, that streams
bodies both ways and parses responses as strictly as the server parses requests.  The proxy and
the per-user relay use it; plugins and tests may too (see docs/writing-plugins.md).

    pool = ConnectionPool()
    response = await pool.request(Upstream.parse("http://127.0.0.1:8080"), b"GET", b"/",
                                  [(b"accept", b"text/plain")])
    body = await response.read()        # or: async for chunk in response

`request_body(request)` is a server request's body as the body to relay (streamed or whole).
"""

from ._client.outgoing import request_body
from ._client.pool import (
    ConnectionPool,
    Response,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from ._client.upstream import Upstream, format_authority

__all__ = [
    "ConnectionPool",
    "Response",
    "Upstream",
    "UpstreamError",
    "UpstreamProtocolError",
    "UpstreamTimeout",
    "UpstreamUnreachable",
    "format_authority",
    "request_body",
]
