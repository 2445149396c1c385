"""Reverse-proxy peer: an aiohttp.web server relaying every request to the origin through ONE
pooled `aiohttp.ClientSession` (its default TCPConnector: keep-alive, up to 100 connections),
streaming the response body back in pieces of at most 64 KiB with back-pressure.

Usage: python aiohttp_proxy.py PORT ORIGIN_PORT

Hop-by-hop headers (RFC 9110 section 7.6.1) are dropped both ways and the request's Host is
replaced by the origin's, as a reverse proxy does; a client that leaves mid-response ends its
relay quietly (as aiohttp does for its own responses, without a traceback per request); no
access log.
"""

import sys
from collections.abc import AsyncIterator

from aiohttp import ClientSession, ClientTimeout, web

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
CHUNK = 64 * 1024
ORIGIN = f"http://127.0.0.1:{int(sys.argv[2])}"
SESSION = web.AppKey("session", ClientSession)


async def client_session(app: web.Application) -> AsyncIterator[None]:
    async with ClientSession(
        auto_decompress=False, timeout=ClientTimeout(total=None, sock_read=60)
    ) as session:
        app[SESSION] = session
        yield


async def proxy(request: web.Request) -> web.StreamResponse:
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
    async with request.app[SESSION].request(
        request.method,
        ORIGIN + request.rel_url.raw_path_qs,
        headers=headers,
        data=request.content if request.body_exists else None,
        allow_redirects=False,
    ) as upstream:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for name, value in upstream.headers.items():
            if name.lower() not in HOP_BY_HOP:
                response.headers.add(name, value)
        try:
            await response.prepare(request)
            async for chunk in upstream.content.iter_chunked(CHUNK):
                await response.write(chunk)
            await response.write_eof()
        except ConnectionError:
            pass  # the client left (wrk, at the end of a run): aiohttp's own finish is quiet
        return response


app = web.Application()
app.cleanup_ctx.append(client_session)
app.router.add_route("*", "/{tail:.*}", proxy)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
