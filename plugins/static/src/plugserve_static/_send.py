"""Sending one file: validators, preconditions, ranges, then the body through `send_file`.

The file is opened and fstat-ed once, on the loop thread (an open and an fstat of a cached inode
cost microseconds, less than a trip to a thread); every header comes from that one fstat, so
headers and body describe the same file even if it is replaced meanwhile.  A body of up to
64 KiB is read at once and goes out with the head in one write; a larger one goes through
`Request.send_file` (sendfile, or 64 KiB chunks with back-pressure), never read whole.  A small
file's bytes are kept in the tree's SmallFileCache, so the next request for it, whose
traversal stat-ed it anyway, neither opens nor reads it while that stat says it is unchanged.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Coroutine
from functools import lru_cache
from typing import IO, Any, Final

from plugserve.error import ConnectionLost
from plugserve.http import PRECONDITIONS, datetimeToString, evaluate_preconditions, if_range_holds
from plugserve.resource import error_html
from plugserve.server import NOT_DONE_YET, Request

from ._cache import SmallFileCache
from ._ranges import parse_range

__all__ = ["FileInfo", "send_file_response"]

_OCTET: Final = "application/octet-stream"


class FileInfo:
    """How to label a file: its content type (None = unknown) and content coding."""

    __slots__ = ("content_type", "encoding", "vary")

    def __init__(self, content_type: str | None, encoding: str | None, vary: bool = False) -> None:
        self.content_type = content_type
        self.encoding = encoding
        self.vary = vary


def _fail(request: Request, code: int, brief: str) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    return error_html(code, brief, "The file cannot be served.")


#: Bodies up to this size are read at once and returned to the render path, which sends them
#: with the head in one write: for them a task, a sendfile round trip or a thread hop would cost
#: more than the copy (bench/static.py, the 4 KiB scenario).
SMALL_BODY_BYTES: Final = 64 * 1024

_Body = Coroutine[Any, Any, None]


def send_file_response(
    request: Request, path: str, info: FileInfo, st: os.stat_result | None = None,
    cache: SmallFileCache | None = None,
) -> bytes | int | _Body:
    """Answer GET/HEAD for the regular file at `path`: what render returns, i.e. the bytes of
    a small body, NOT_DONE_YET for a response already finished, or a coroutine that streams a
    large body.  `st` is a fresh stat of `path`, with which `cache` may answer for the file."""
    if st is not None and cache is not None:
        data = cache.get(path, st)
        if data is not None:
            return _respond(request, io.BytesIO(data), st.st_size, st.st_mtime_ns, info)
    try:
        file: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed below, or by _stream
    except PermissionError:
        return _fail(request, 403, "Forbidden Resource")
    except (OSError, ValueError):
        return _fail(request, 404, "No Such Resource")
    try:
        fst = os.fstat(file.fileno())
        if not stat.S_ISREG(fst.st_mode):
            result: bytes | int | _Body = _fail(request, 404, "No Such Resource")
        else:
            if cache is not None and fst.st_size <= SMALL_BODY_BYTES:
                data = file.read(SMALL_BODY_BYTES + 1)
                if len(data) == fst.st_size:  # else it changed while read: serve the file
                    cache.put(path, fst, data)
                    file.close()
                    file = io.BytesIO(data)
                else:
                    file.seek(0)
            result = _respond(request, file, fst.st_size, fst.st_mtime_ns, info)
    except BaseException:
        file.close()
        raise
    if isinstance(result, (bytes, int)):
        file.close()
        return result
    return _stream(file, result)


async def _stream(file: IO[bytes], body: _Body) -> None:
    try:
        await body
    except ConnectionLost:
        return  # the client left: nothing to answer, nothing to log
    finally:
        file.close()


#: Last-Modified of a modification time, formatted once per distinct time.
_http_date: Final = lru_cache(maxsize=1024)(datetimeToString)


def make_etag(mtime_ns: int, size: int) -> bytes:
    """A strong validator that changes whenever the file is rewritten or resized."""
    return b'"%x-%x"' % (mtime_ns, size)


def _respond(request: Request, file: IO[bytes], size: int, mtime_ns: int,
             info: FileInfo) -> bytes | int | _Body:
    etag = make_etag(mtime_ns, size)
    mtime_s = mtime_ns // 1_000_000_000
    headers = request.getAllHeaders()
    request.setHeader(b"accept-ranges", b"bytes")
    request.setHeader(b"etag", etag)
    request.setHeader(b"last-modified", _http_date(mtime_s))
    if info.vary:
        request.setHeader(b"vary", b"Accept-Encoding")
    if not headers.keys().isdisjoint(PRECONDITIONS):
        status = evaluate_preconditions(request.method, headers, etag, mtime_s)
    else:
        status = None  # the common case, decided with one set operation
    if status is not None:  # RFC 9110 §15.4.5: a 304 carries the validators, no body
        request.setResponseCode(status)
        if status == 412:
            request.setHeader(b"content-length", b"0")
        request.finish()
        return NOT_DONE_YET
    content_type = info.content_type
    if content_type is None:
        content_type = _OCTET
        request.setHeader(b"x-content-type-options", b"nosniff")
    if info.encoding:
        request.setHeader(b"content-encoding", info.encoding)
    ranges = None
    if b"range" in headers and request.method == b"GET" and if_range_holds(headers, etag, mtime_s):
        ranges = parse_range(headers[b"range"], size)
    if ranges is None:
        request.setHeader(b"content-type", content_type)
        request.setHeader(b"content-length", str(size))
        return _body(request, file, 0, size)
    if not ranges:  # RFC 9110 §15.5.17: 416 says how long the file is
        request.setResponseCode(416)
        request.setHeader(b"content-range", f"bytes */{size}")
        request.setHeader(b"content-length", b"0")
        request.finish()
        return NOT_DONE_YET
    if len(ranges) == 1:  # §15.3.7.1
        start, end = ranges[0]
        request.setResponseCode(206)
        request.setHeader(b"content-type", content_type)
        request.setHeader(b"content-range", f"bytes {start}-{end - 1}/{size}")
        request.setHeader(b"content-length", str(end - start))
        return _body(request, file, start, end - start)
    return _finished(request, _multipart(request, file, size, ranges, content_type))


def _body(request: Request, file: IO[bytes], offset: int, count: int) -> bytes | _Body:
    """A small body read now (HEAD reads nothing), or a coroutine sending a large one."""
    if request.method == b"HEAD":
        return b""  # the Content-Length set above stays: render keeps it for HEAD with b""
    if count <= SMALL_BODY_BYTES:
        file.seek(offset)
        data = file.read(count)
        if len(data) == count:
            return data
        file.seek(0)  # the file shrank since fstat: let send_file find out and drop
    return _finished(request, request.send_file(file, offset, count))


async def _finished(request: Request, body: _Body) -> None:
    await body
    request.finish()


async def _multipart(request: Request, file: IO[bytes], size: int,
                     ranges: list[tuple[int, int]], content_type: str) -> None:
    """multipart/byteranges (RFC 9110 §14.6), parts in request order, exact Content-Length."""
    boundary = os.urandom(12).hex()
    heads = [
        (f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
         f"Content-Range: bytes {start}-{end - 1}/{size}\r\n\r\n").encode()
        for start, end in ranges
    ]
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = sum(map(len, heads)) + sum(end - start for start, end in ranges) + len(tail)
    request.setResponseCode(206)
    request.setHeader(b"content-type", f"multipart/byteranges; boundary={boundary}")
    request.setHeader(b"content-length", str(length))
    for head, (start, end) in zip(heads, ranges, strict=True):
        request.write(head)
        await request.send_file(file, start, end - start)
    request.write(tail)
