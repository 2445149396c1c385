# Theory of operation
#
# A Request is Twisted Web's request object rebuilt on the sans-I/O HTTPConnection: it holds the
# parsed head and the spooled body, carries the traversal state (prepath/postpath), and turns the
# resource's writes into response bytes through its channel (the asyncio protocol).  The head is
# sent at the first write or at finish; a bytes result from render goes out as head and body in one
# write with a Content-Length.  Everything that depends only on the request (args, cookies) is
# computed on first use, so a request that never looks at them does not pay for them.
from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import unquote_to_bytes

from . import _date
from ._addressing import RequestAddressing
from ._forms import parse_qs
from .address import Address
from .defer import Deferred
from .error import ConnectionLost
from .http import CACHED, reason_phrase
from .http_headers import Headers, _name, _sanitize

if TYPE_CHECKING:
    from .encoders import Encoder
    from .server import Site
    from .session import Session

__all__ = ["Channel", "Request"]

_NO_BODY_CODES: Final = frozenset({204, 304})
_SERVER: Final = b"server"
_DATE: Final = b"date"
_CONTENT_TYPE: Final = b"content-type"
_CONTENT_LENGTH: Final = b"content-length"
_CHUNK: Final = 64 * 1024
#: An int, for `_PERCENT in path`: a bytes needle makes bytes.__contains__ build and drop a
#: TypeError before it searches (see http_headers._sanitize).
_PERCENT: Final = ord("%")


class Channel(Protocol):
    """What a Request needs from the connection that carries it."""

    is_tls: bool
    peer: Address
    sockname: Address

    def write_head(self, request: Request, status: int, reason: bytes,
                   headers: list[tuple[bytes, bytes]], body: bytes | None) -> None: ...
    def write_body(self, data: bytes) -> None: ...
    def end_response(self, request: Request) -> None: ...
    def abort(self) -> None: ...
    def register_producer(self, request: Request, producer: Any, streaming: bool) -> None: ...
    async def send_file(self, request: Request, file: IO[bytes], offset: int,
                        count: int) -> bool: ...
    async def wait_writable(self) -> None: ...
    def unregister_producer(self) -> None: ...


class Request(RequestAddressing):
    """One HTTP request and its response, with Twisted Web's API."""

    defaultContentType: bytes | None = b"text/html"
    site: Site
    session: Session | None = None
    _encoder: Encoder | None = None
    #: Set by `encoders.choose_encoder` when encoders were considered for this response, so the
    #: head carries `Vary: Accept-Encoding` even when no encoder was chosen.
    _vary_accept_encoding: bool = False
    _child_hook: Callable[..., Any] | None = None
    # Immutable defaults live on the class, so a request only stores what it changes.
    code: int = 200
    code_message: bytes | None = None
    sentLength: int = 0
    startedWriting: bool = False
    finished: bool = False
    lastModified: float | None = None
    etag: bytes | None = None
    _disconnected: bool = False

    def __init__(
        self,
        channel: Channel,
        method: bytes,
        uri: bytes,
        clientproto: bytes,
        requestHeaders: Headers,
        content: IO[bytes],
    ) -> None:
        self.channel = channel
        self.method = method
        self.uri = uri
        self.clientproto = clientproto
        self.requestHeaders = requestHeaders
        self.responseHeaders = Headers()
        self.content = content
        path, _, self._query = uri.partition(b"?")
        if not path.startswith(b"/"):
            path = _origin_path(self, path)
        self.path = path
        self.prepath: list[bytes] = []
        segments = path[1:].split(b"/")
        if _PERCENT in path:
            segments = [unquote_to_bytes(s) for s in segments]
        self.postpath: list[bytes] = segments
        self.sitepath: list[bytes] = []
        self.cookies: list[bytes] = []
        self.client = channel.peer
        self.host = channel.sockname
        self.started = time.time()
        self._no_body = method == b"HEAD"
        self._finish_notifiers: list[Deferred] = []

    def __getattr__(self, name: str) -> Any:
        # Parsed on first use: most requests never look at their query or cookies.
        if name == "args":
            self.args: dict[bytes, list[bytes]] = parse_qs(self._query)
            return self.args
        if name == "received_cookies":
            self.received_cookies: dict[bytes, bytes] = _parse_cookies(self.requestHeaders)
            return self.received_cookies
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} at 0x{id(self):x} method={self.method!r} "
            f"uri={self.uri!r} clientproto={self.clientproto!r}>"
        )

    # -- the request -----------------------------------------------------------------------------

    def getHeader(self, key: str | bytes) -> Any:
        """The last value of a request header (str for a str name), or None."""
        values = self.requestHeaders.getRawHeaders(key)
        return values[-1] if values else None

    def getAllHeaders(self) -> dict[bytes, bytes]:
        """Lower-case name -> last value of every request header."""
        return {name: values[-1] for name, values in self.requestHeaders._raw.items()}

    def getCookie(self, key: bytes) -> bytes | None:
        """The value of a cookie the client sent, or None."""
        return self.received_cookies.get(key)

    def getSession(self, sessionInterface: Any = None, forceNotSecure: bool = False) -> Any:
        """The session of this browser, found or created through a cookie."""
        from .session import get_session

        return get_session(self, sessionInterface, forceNotSecure)

    # -- the response ----------------------------------------------------------------------------

    def setResponseCode(self, code: int, message: bytes | None = None) -> None:
        """Set the status (and optionally the reason phrase) of the response."""
        if not isinstance(code, int):
            raise TypeError(f"HTTP response code must be int, not {type(code).__name__}")
        self.code = code
        self.code_message = message

    def setHeader(self, name: str | bytes, value: str | bytes) -> None:
        """Set a response header, replacing any value it had."""
        # Headers.setRawHeaders without its list comprehension: a static file sets five
        # headers per request.
        self.responseHeaders._raw[_name(name)] = [_sanitize(value)]

    def redirect(self, url: bytes | str) -> None:
        """Answer 302 with a Location; the caller still calls finish()."""
        self.setResponseCode(302)
        self.setHeader(b"location", url)

    def addCookie(
        self,
        k: str | bytes,
        v: str | bytes,
        expires: str | bytes | None = None,
        domain: str | bytes | None = None,
        path: str | bytes | None = None,
        max_age: str | bytes | int | None = None,
        comment: str | bytes | None = None,
        secure: bool | None = None,
        httpOnly: bool = False,
        sameSite: str | None = None,
    ) -> None:
        """Queue a Set-Cookie header; CR, LF and `;` in any part become spaces."""
        parts = [_cookie_part(k) + b"=" + _cookie_part(v)]
        for label, value in ((b"Expires", expires), (b"Domain", domain), (b"Path", path),
                             (b"Max-Age", max_age), (b"Comment", comment)):
            if value is not None:
                parts.append(label + b"=" + _cookie_part(value))
        if secure:
            parts.append(b"Secure")
        if httpOnly:
            parts.append(b"HttpOnly")
        if sameSite:
            same = sameSite.lower()
            if same not in ("lax", "strict", "none"):
                raise ValueError("Invalid value for sameSite: " + repr(sameSite))
            if same == "none" and not secure:
                raise ValueError("sameSite='none' requires secure=True")
            parts.append(b"SameSite=" + same.encode("ascii"))
        self.cookies.append(b"; ".join(parts))

    def setLastModified(self, when: float) -> str | None:
        """Record the modification time; return CACHED (and set 304) if the client's copy is
        fresh."""
        when = float(int(when) + (1 if when % 1 else 0))
        if not self.lastModified or self.lastModified < when:
            self.lastModified = when
        header = self.requestHeaders._last(b"if-modified-since")
        if header and self.method in (b"GET", b"HEAD"):
            since = _date.parse_http_date(header.split(b";", 1)[0].strip())
            if since is not None and since >= self.lastModified:
                self.setResponseCode(304)
                return CACHED
        return None

    def setETag(self, etag: bytes) -> str | None:
        """Record the entity tag; return CACHED (304, or 412 for unsafe methods) on a match."""
        if etag:
            self.etag = etag
        header = self.requestHeaders._last(b"if-none-match")
        if header:
            tags = [t.strip() for t in header.replace(b",", b" ").split()]
            if etag in tags or b"*" in tags or _weak(etag) in (_weak(t) for t in tags):
                self.setResponseCode(304 if self.method in (b"GET", b"HEAD") else 412)
                return CACHED
        return None

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
        if self._encoder is None and await self.channel.send_file(self, file, offset, count):
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
        self.channel.end_response(self)
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
        self.channel.end_response(self)
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
        """Called by the channel when the client goes away before finish."""
        if self.finished or self._disconnected:
            return
        self._disconnected = True
        self._notify(reason or ConnectionLost("Connection to the other side was lost."))

    def loseConnection(self) -> None:
        """Drop the connection now, without finishing the response."""
        self.channel.abort()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Let the connection pause and resume `producer` as the client reads (Twisted API)."""
        self.channel.register_producer(self, producer, streaming)

    def unregisterProducer(self) -> None:
        """Stop driving the producer registered with registerProducer."""
        self.channel.unregister_producer()

    # -- the head --------------------------------------------------------------------------------

    def _send_head(self, body: bytes | None) -> None:
        """Compute the final response headers and hand them (and a whole body) to the channel."""
        self.startedWriting = True
        code = self.code
        raw = self.responseHeaders._raw
        no_body = self._no_body or code in _NO_BODY_CODES or code < 200
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
            from .encoders import activate_encoder

            encoder = self._encoder = activate_encoder(self, encoder, no_body)
        elif self._vary_accept_encoding:
            from .encoders import add_vary

            add_vary(self)
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
            and raw.get(_CONTENT_LENGTH) != [b"0"]
        ):
            raw[_CONTENT_TYPE] = [self.defaultContentType]
        if site.extraHeaders:
            for name, value in site.extraHeaders:
                raw.setdefault(name, []).append(value)
        headers = [(n, v) for n, values in raw.items() for v in values]
        reason = self.code_message or reason_phrase(code)
        self.channel.write_head(self, code, reason, headers, body)


def _read_at(file: IO[bytes], offset: int, size: int) -> bytes:
    """Up to `size` bytes of `file` from `offset` (run in the executor)."""
    file.seek(offset)
    return file.read(size)


def _origin_path(request: Request, target: bytes) -> bytes:
    """The path of an absolute-form (or authority/asterisk-form) target; RFC 9112 §3.2.2 says
    the authority of an absolute-form target replaces Host."""
    sep, rest = target.partition(b"://")[1:]
    if not sep:
        return b"/" + target if target != b"*" else b"*"
    authority, _, path = rest.partition(b"/")
    if authority:
        request.requestHeaders.setRawHeaders(b"host", [authority])
    return b"/" + path


def _cookie_part(value: str | bytes | int) -> bytes:
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        value = value.encode("utf-8")
    for bad in (b"\r\n", b"\r", b"\n", b";"):
        value = value.replace(bad, b" ")
    return value


def _parse_cookies(headers: Headers) -> dict[bytes, bytes]:
    cookies: dict[bytes, bytes] = {}
    for header in headers._raw.get(b"cookie", ()):
        for item in header.split(b";"):
            name, sep, value = item.lstrip().partition(b"=")
            if sep:
                cookies[name] = value
    return cookies


def _weak(tag: bytes) -> bytes:
    return tag[2:] if tag.startswith(b"W/") else tag
