"""Relaying one request to an upstream and its response back: the part both proxies share.

The request body streams up as it arrives (a streaming resource's `BodyStream`) or goes up whole
(a buffered one), and the response body streams down, each side waiting for the other's
back-pressure.  A failure before the response head is a 502 (504 for a timeout); after it, the
client connection is aborted, so a truncated upstream body never looks complete.  A client that
leaves mid-body (closes, or half-closes, which the server takes as leaving) ends the relay
quietly, as no error of the proxy's.  After a 101 to
a WebSocket upgrade, both connections are piped to each other.  The response's steps go through
a `ProxyClient`, whose `handle*` methods are Twisted's and may be overridden.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from plugserve.client import Response, Upstream, UpstreamError, request_body
from plugserve.error import ConnectionLost
from plugserve.resource import error_html

from . import _settings
from ._headers import end_to_end, via

__all__ = ["error_page", "pipe", "relay", "wants_websocket"]

_log = logging.getLogger("plugserve.proxy")
_MESSAGES = {502: ("Bad Gateway", "The upstream server could not be reached, or its response "
                   "was not valid HTTP."),
             504: ("Gateway Timeout", "The upstream server did not answer in time.")}


def error_page(request: Any, status: int, brief: str, detail: str) -> None:
    """Finish `request` with an HTML error page."""
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    request.write(error_html(status, brief, detail))
    request.finish()


def wants_websocket(request: Any) -> bool:
    """`Connection: upgrade` with `Upgrade: websocket` (every other upgrade is dropped)."""
    headers = request.requestHeaders
    upgrade = b",".join(headers.getRawHeaders(b"upgrade") or ()).lower()
    connection = b",".join(headers.getRawHeaders(b"connection") or ()).lower()
    return (request.clientproto == b"HTTP/1.1" and b"websocket" in upgrade
            and b"upgrade" in [t.strip() for t in connection.split(b",")])


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of file, with back-pressure, then close the writer."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def relay(request: Any, upstream: Upstream, target: bytes,
                headers: list[tuple[bytes, bytes]], client: Any) -> None:
    """Send `request` to `upstream` as `target` with `headers`, and its response back through
    `client` (a ProxyClient); logs the upstream and its time on the access-log line."""
    websocket = any(n == b"upgrade" for n, _ in headers)
    body, length = request_body(request) if not websocket else (None, None)
    started = time.monotonic()
    try:
        response = await _settings.pool().request(upstream, request.method, target, headers,
                                                  body, content_length=length)
    except UpstreamError as exc:
        _log.warning("proxy: %s %s: %s", request.method.decode("latin-1"),
                     request.uri.decode("latin-1"), exc)
        _note(request, upstream, started)
        error_page(request, exc.status, *_MESSAGES[exc.status])
        return
    try:
        _note(request, upstream, started)
        if response.status == 101:
            await _tunnel(request, response, client)
            return
        client.handleStatus(b"HTTP/" + response.http_version, str(response.status).encode(),
                            response.reason)
        for name, value in end_to_end(response.headers):
            client.handleHeader(name, value)
        request.responseHeaders.addRawHeader(b"via", via(request, b"1.1"))
        if response.content_length is not None:
            request.setHeader(b"content-length", str(response.content_length).encode())
        client.handleEndHeaders()
        try:
            while (chunk := await response.read_chunk()) is not None:
                client.handleResponsePart(chunk)
                await request.wait_writable()
        except UpstreamError as exc:
            _log.warning("proxy: %s %s: the response broke off: %s",
                         request.method.decode("latin-1"), request.uri.decode("latin-1"), exc)
            request.loseConnection()  # a truncated body must not look complete
            return
        except ConnectionLost:
            # wait_writable's word that the client has gone (a half-close is seen before the
            # cancellation arrives): the upstream connection is dropped in `finally`.
            _log.info("proxy: %s %s: the client left during the response",
                      request.method.decode("latin-1"), request.uri.decode("latin-1"))
            return
        client.handleResponseEnd()
    finally:
        await response.aclose()


async def _tunnel(request: Any, response: Response, client: Any) -> None:
    """A 101 from the upstream: pipe the client and the upstream to each other."""
    request.setResponseCode(101)
    for name, value in response.headers:
        if name not in (b"connection", b"content-length", b"transfer-encoding"):
            request.responseHeaders.addRawHeader(name, value)
    request.setHeader(b"connection", b"upgrade")
    request.responseHeaders.addRawHeader(b"via", via(request, b"1.1"))
    up_reader, up_writer = await response.take_over()
    try:
        reader, writer = await request.take_over()
    except BaseException:
        up_writer.close()
        raise
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def _note(request: Any, upstream: Upstream, started: float) -> None:
    fields = request.log_fields
    fields["upstream"] = str(upstream)
    fields["upstream_time"] = f"{time.monotonic() - started:.3f}"
