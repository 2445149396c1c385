"""Sending a script's response to the client: the head it printed, then its stdout as it comes,
with back-pressure both ways (a client that does not read stops the reading of stdout, the pipe
fills and the script blocks in write).  An `nph-` script's output goes to the connection as it
is (`Request.take_over(raw=True)`), its first line read first for the access log."""

from __future__ import annotations

import re
from typing import Any, Final

from plugserve.error import ConnectionLost

from ._errors import ScriptError
from ._output import ScriptHead
from ._process import ScriptProcess

__all__ = ["respond", "respond_raw"]

_CHUNK = 64 * 1024
_STATUS_LINE: Final = re.compile(rb"HTTP/1\.[01] ([1-5][0-9][0-9])[ \r\n]")


async def respond(request: Any, process: ScriptProcess, head: ScriptHead, body: bytes) -> None:
    """Send `head`, `body` (what followed it) and the rest of stdout, then finish."""
    request.setResponseCode(head.status, head.reason)
    request.defaultContentType = None  # a script that prints no Content-Type sends none
    headers = request.responseHeaders
    for name, value in head.headers:
        headers.addRawHeader(name, value)
    stdout = process.stdout
    if not body:
        body = await stdout.read(_CHUNK)
    if stdout.at_eof() and head.status not in (204, 304):  # all here: no chunks needed
        request.setHeader(b"content-length", str(len(body)).encode())
    try:
        while body:
            request.write(body)
            await request.wait_writable()
            body = await stdout.read(_CHUNK)
    except ConnectionLost:
        return  # the client left: the caller kills the script
    request.finish()


async def respond_raw(request: Any, process: ScriptProcess) -> None:
    """Give the connection to an nph- script: its output, status line first, goes out as it
    is, and the connection closes at its end."""
    first = await process.stdout.read(_CHUNK)
    if not first:
        raise ScriptError(502, "Bad Gateway", "The nph- script sent nothing.",
                          log="the nph- script ended before it sent anything")
    match = _STATUS_LINE.match(first)
    request.setResponseCode(int(match[1]) if match else 200)
    _reader, writer = await request.take_over(raw=True)
    try:
        data = first
        while data:
            writer.write(data)
            await writer.drain()
            data = await process.stdout.read(_CHUNK)
    except ConnectionError:
        pass
    finally:
        writer.close()
