"""The response side of a request: writing the body, finishing, producers, telling those who
wait that the response ended or the client left, and the head's final headers (part of
`Request`, kept apart to keep each module small; `_request.py` has the theory of operation)."""

from __future__ import annotations

import asyncio
import os
from typing import IO, TYPE_CHECKING, Any, Final, cast

from . import _date
from ._status import reason_phrase
from .defer import Deferred
from .error import ConnectionLost

if TYPE_CHECKING:
    from ._request import Channel, Request
    from .encoders import Encoder
    from .http_headers import Headers
    from .server import Site

__all__ = ["ResponseWriting", "activate_encoder", "add_vary"]

_NO_BODY_CODES: Final = frozenset({204, 304})
_SERVER: Final = b"server"
_DATE: Final = b"date"
_CONTENT_TYPE: Final = b"content-type"
_CONTENT_LENGTH: Final = b"content-length"
_CHUNK: Final = 64 * 1024
#: Types not worth encoding: compressed already.
_COMPRESSED_TYPES: Final = (
    b"image/", b"video/", b"audio/", b"application/zip", b"application/gzip",
    b"application/x-gzip", b"application/x-bzip2", b"application/x-xz", b"application/zstd",
    b"font/woff",
)


class ResponseWriting:
    """Twisted's response-writing methods of a request."""

    channel: Channel
    site: Site
    method: bytes
    code: int
    code_message: bytes | None
    sentLength: int
    startedWriting: bool
    finished: bool
    lastModified: float | None
    etag: bytes | None
    defaultContentType: bytes | None
    responseHeaders: Headers
    cookies: list[bytes]
    _encoder: Encoder | None
    _vary_accept_encoding: bool
    _disconnected: bool
    _no_body: bool
    _finish_notifiers: list[Deferred]
    #: The task running an awaitable that render returned (None on the synchronous path).
    _render_task: asyncio.Task[None] | None = None

    def write(self, data: bytes) -> None:
        """Send part of the body; the head goes out with the first write."""
        if self.finished:
            raise RuntimeError(
                "Request.write called on a request after Request.finish was called."
            )
        if self._disconnected:
            return
        if not self.startedWriting:
            self._send_head(None)
        if not data or self._no_body:
            return
        if not isinstance(data, bytes):
            raise TypeError(f"Request.write needs bytes, not {type(data).__name__}")
        encoder = self._encoder
        if encoder is not None:
            data = encoder.encode(data)
            if not data:
                return
        self.sentLength += len(data)
        self.channel.write_body(data)

    async def send_file(self, file: IO[bytes], offset: int = 0, count: int | None = None) -> None:
        """Send `count` bytes of `file` (opened in binary mode) from `offset` as part of the body.

        Over plain TCP, with a Content-Length set and no encoder, the bytes go out with
        `loop.sendfile` (zero copy, no thread); otherwise they are read 64 KiB at a time in the
        default executor and written with `write`, waiting for the client after each chunk, so
        a slow client never makes the server buffer more than a chunk or two.  Sends the head
        first if needed; sends nothing for HEAD.  Raises ConnectionLost if the client goes
        away.  The caller still calls finish()."""
        if self.finished:
            raise RuntimeError("Request.send_file called after Request.finish")
        if self._disconnected:
            raise ConnectionLost("Connection to the other side was lost.")
        if not self.startedWriting:
            self._send_head(None)
        if self._no_body:
            return
        if count is None:
            count = os.fstat(file.fileno()).st_size - offset
        if count <= 0:
            return
        channel = self.channel
        if self._encoder is None and await channel.send_file(
            cast("Request", self), file, offset, count
        ):
            self.sentLength += count
            return
        loop = asyncio.get_running_loop()
        while count > 0:
            chunk = await loop.run_in_executor(None, _read_at, file, offset, min(count, _CHUNK))
            if not chunk:
                self.channel.abort()
                raise ConnectionLost("file shorter than the bytes asked for")
            if self._disconnected:
                raise ConnectionLost("Connection to the other side was lost.")
            self.write(chunk)
            offset += len(chunk)
            count -= len(chunk)
            await self.wait_writable()

    async def wait_writable(self) -> None:
        """Wait until the client has read enough of the body written so far (back-pressure):
        call it between writes of a large body.  Raises ConnectionLost if the client left."""
        if self._disconnected:
            raise ConnectionLost("Connection to the other side was lost.")
        await self.channel.wait_writable()

    def finish(self) -> None:
        """End the response; the connection then serves the next request or closes."""
        if self._disconnected:
            raise RuntimeError(
                "Request.finish called on a request after its connection was lost; "
                "use Request.notifyFinish to keep track of this."
            )
        if self.finished:
            return
        if not self.startedWriting:
            self._send_head(b"")
        elif self._encoder is not None and not self._no_body:
            tail = self._encoder.finish()
            if tail:
                self.sentLength += len(tail)
                self.channel.write_body(tail)
        self.finished = True
        self.channel.end_response(cast("Request", self))
        self._notify(None)

    def _finish_with(self, body: bytes) -> None:
        """Send a whole body returned by render: head and body in one write, with a length."""
        if self.startedWriting:
            if body:
                self.write(body)
            self.finish()
            return
        self._send_head(body)
        self.finished = True
        self.channel.end_response(cast("Request", self))
        self._notify(None)

    def notifyFinish(self) -> Deferred:
        """A Deferred (also awaitable) that fires on finish, or fails with ConnectionLost."""
        deferred = Deferred()
        if self.finished:
            deferred.callback(None)
        elif self._disconnected:
            deferred.errback(ConnectionLost("Connection to the other side was lost."))
        else:
            self._finish_notifiers.append(deferred)
        return deferred

    def _notify(self, error: BaseException | None) -> None:
        if not self._finish_notifiers:
            return
        notifiers, self._finish_notifiers = self._finish_notifiers, []
        for deferred in notifiers:
            if error is None:
                deferred.callback(None)
            else:
                deferred.errback(error)

    def connectionLost(self, reason: BaseException | None = None) -> None:
        """Called by the channel when the client goes away before finish: notifyFinish's
        Deferreds fail, then a coroutine still rendering the request is cancelled (it gets
        CancelledError at its next await, so its `finally` can stop a subprocess or close an
        upstream connection).  The channel stops a registered producer next."""
        if self.finished or self._disconnected:
            return
        self._disconnected = True
        self._notify(reason or ConnectionLost("Connection to the other side was lost."))
        task = self._render_task
        if task is not None:
            self._render_task = None
            task.cancel()  # no-op for a render that already ended

    def loseConnection(self) -> None:
        """Drop the connection now, without finishing the response."""
        self.channel.abort()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Let the connection pause and resume `producer` as the client reads (Twisted API)."""
        self.channel.register_producer(cast("Request", self), producer, streaming)

    def unregisterProducer(self) -> None:
        """Stop driving the producer registered with registerProducer."""
        self.channel.unregister_producer()

    # -- the head --------------------------------------------------------------------------------

    def _send_head(self, body: bytes | None) -> None:
        """Compute the final response headers and hand them (and a whole body) to the channel."""
        self.startedWriting = True
        code = self.code
        raw = self.responseHeaders._raw
        # A 2xx to CONNECT or a 101 switches protocols: no body, no framing, no Content-Type
        # (RFC 9110 §9.3.6, §15.2.2); see take_over.
        switching = code == 101 or (code < 300 and code > 199 and self.method == b"CONNECT")
        no_body = self._no_body or code in _NO_BODY_CODES or code < 200 or switching
        if no_body:
            self._no_body = True
        site = self.site
        if _SERVER not in raw:
            raw[_SERVER] = [site.serverName]
        if _DATE not in raw:
            raw[_DATE] = [_date.http_date_now()]
        if self.lastModified is not None and b"last-modified" not in raw:
            raw[b"last-modified"] = [_date.format_http_date(self.lastModified)]
        if self.etag is not None and b"etag" not in raw:
            raw[b"etag"] = [self.etag]
        for cookie in self.cookies:
            raw.setdefault(b"set-cookie", []).append(cookie)
        encoder = self._encoder
        if encoder is not None:
            encoder = self._encoder = activate_encoder(cast("Request", self), encoder, no_body)
        elif self._vary_accept_encoding:
            add_vary(cast("Request", self))
        if body is not None:
            if not no_body:
                if encoder is not None:
                    body = encoder.encode(body) + encoder.finish()
                raw[_CONTENT_LENGTH] = [str(len(body)).encode("ascii")]
                self.sentLength = len(body)
            else:
                if body and code not in _NO_BODY_CODES:
                    # HEAD rendered as GET: announce the length GET would have sent.
                    raw[_CONTENT_LENGTH] = [str(len(body)).encode("ascii")]
                body = b""
        if (
            _CONTENT_TYPE not in raw
            and self.defaultContentType is not None
            and code not in _NO_BODY_CODES
            and not switching
            and raw.get(_CONTENT_LENGTH) != [b"0"]
        ):
            raw[_CONTENT_TYPE] = [self.defaultContentType]
        if site.extraHeaders:
            for name, value in site.extraHeaders:
                raw.setdefault(name, []).append(value)
        headers = [(n, v) for n, values in raw.items() for v in values]
        reason = self.code_message or reason_phrase(code)
        self.channel.write_head(cast("Request", self), code, reason, headers, body)



def _read_at(file: IO[bytes], offset: int, size: int) -> bytes:
    """Up to `size` bytes of `file` from `offset` (run in the executor)."""
    file.seek(offset)
    return file.read(size)


def add_vary(request: Request) -> None:
    """Add `Vary: Accept-Encoding` to the response unless its Vary already covers it."""
    raw = request.responseHeaders._raw
    vary = raw.get(b"vary")
    if vary is None:
        raw[b"vary"] = [b"Accept-Encoding"]
    elif not any(b"accept-encoding" in v.lower() or v.strip() == b"*" for v in vary):
        vary.append(b"Accept-Encoding")


def activate_encoder(request: Request, encoder: Encoder, no_body: bool) -> Encoder | None:
    """Decide at head time whether `encoder` applies; set the headers if it does."""
    raw = request.responseHeaders._raw
    add_vary(request)
    if no_body or request.code == 206 or request.code < 200 or b"content-encoding" in raw:
        return None
    content_type = raw.get(b"content-type")
    if content_type and content_type[0].lower().startswith(_COMPRESSED_TYPES):
        return None
    coding = getattr(encoder, "coding", b"gzip")
    raw[b"content-encoding"] = [coding]
    raw.pop(b"content-length", None)
    etag = raw.get(b"etag")
    if etag and not etag[0].startswith(b"W/"):
        raw[b"etag"] = [b"W/" + etag[0]]
    return encoder
