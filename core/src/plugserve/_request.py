# Theory of operation
#
# A Request is Twisted Web's request object rebuilt on the sans-I/O HTTPConnection: it holds the
# parsed head and the spooled body, carries the traversal state (prepath/postpath), and turns the
# resource's writes into response bytes through its channel (the asyncio protocol).  The head is
# sent at the first write or at finish; a bytes result from render goes out as head and body in one
# write with a Content-Length.  Everything that depends only on the request (args, cookies) is
# computed on first use, so a request that never looks at them does not pay for them.
#
# The response side (write, finish, producers, the final headers) is the ResponseWriting mixin
# in _response.py; taking the connection over (CONNECT, Upgrade) is ProtocolSwitching in
# _takeover.py; the addressing methods are RequestAddressing in _addressing.py.
from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import quote, unquote_to_bytes

from ._addressing import RequestAddressing
from ._conditional import none_match, not_modified_since
from ._forms import parse_qs
from ._response import ResponseWriting
from ._status import CACHED
from ._takeover import ProtocolSwitching
from ._transport.routing import FactoryRouting
from .address import Address
from .defer import Deferred
from .http_headers import Headers, _name, _sanitize

if TYPE_CHECKING:
    import asyncio

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
    def take_over(self, request: Request, protocol_factory: Callable[[], asyncio.Protocol],
                  raw: bool = False) -> tuple[asyncio.Transport, bytes]: ...


class Request(ResponseWriting, ProtocolSwitching, RequestAddressing):
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
        self._set_target(uri)
        self.sitepath: list[bytes] = []
        self.cookies: list[bytes] = []
        self.client = channel.peer
        self.host = channel.sockname
        self.started = time.time()
        self._no_body = method == b"HEAD"
        self._finish_notifiers: list[Deferred] = []

    def _set_target(self, uri: bytes) -> None:
        path, _, self._query = uri.partition(b"?")
        if not path.startswith(b"/"):
            path = _origin_path(self, path)
        self.path = path
        self.prepath: list[bytes] = []
        segments = path[1:].split(b"/")
        if _PERCENT in path:
            segments = [unquote_to_bytes(s) for s in segments]
        self.postpath: list[bytes] = segments

    def retarget(self, uri: bytes) -> None:
        """Make this request one for `uri` (an origin-form path with an optional query) before
        it is traversed again from the root (`request.site.getResourceFor(request)`): `uri`,
        `path`, `args`, `prepath` and `postpath` start over, as if `uri` had arrived.  The
        method, headers and body stay; a CGI script's local redirect (RFC 3875 §6.2.2) also
        sets `method` to GET.  Raises ValueError for a target that is not a path."""
        if not uri.startswith(b"/") or uri.startswith(b"//"):
            raise ValueError(f"retarget needs a path such as b'/index.html', not {uri!r:.80}")
        self.uri = uri
        self._set_target(uri)
        self.__dict__.pop("args", None)

    def __getattr__(self, name: str) -> Any:
        # Parsed on first use: most requests never look at their query or cookies.
        if name == "args":
            self.args: dict[bytes, list[bytes]] = parse_qs(self._query)
            return self.args
        if name == "received_cookies":
            self.received_cookies: dict[bytes, bytes] = _parse_cookies(self.requestHeaders)
            return self.received_cookies
        if name == "log_fields":
            #: `name=value` pairs appended to this request's access-log line (a proxy notes
            #: its upstream and the upstream's time there).
            self.log_fields: dict[str, str] = {}
            return self.log_fields
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
        return _get_session(self, sessionInterface, forceNotSecure)

    # -- processing (Twisted's http.Request) ------------------------------------------------------

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        """The whole request has arrived: `process()` it.  Twisted's channel calls this with the
        method, target and version; plugserve parsed the head already and keeps its values."""
        self.process()

    def process(self) -> None:
        """Serve this request.  Twisted code overrides it in `http.Request` subclasses that a
        plain `HTTPFactory`'s channel builds (a forward proxy's request does); the default
        hands the request to its Site, as `server.Request.process` does, and answers 404 on a
        channel without one.  An error raised here is the Site's to answer (a 500)."""
        site = self.site
        if isinstance(site, FactoryRouting):
            self.setResponseCode(404)
            self.setHeader(b"content-type", b"text/plain; charset=utf-8")
            self._finish_with(b"No Such Resource\n")
            return
        site.render_resource(self, site.getResourceFor(self))

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
        if header and self.method in (b"GET", b"HEAD") and not_modified_since(
            header, self.lastModified
        ):
            self.setResponseCode(304)
            return CACHED
        return None

    def setETag(self, etag: bytes) -> str | None:
        """Record the entity tag; return CACHED (304, or 412 for unsafe methods) on a match."""
        if etag:
            self.etag = etag
        header = self.requestHeaders._last(b"if-none-match")
        if header and none_match(header, etag):
            self.setResponseCode(304 if self.method in (b"GET", b"HEAD") else 412)
            return CACHED
        return None

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


def _cookie_name(request: Request, secure: bool) -> bytes:
    base = b"TWISTED_SECURE_SESSION" if secure else b"TWISTED_SESSION"
    return b"_".join([base, *request.sitepath])


def _cookie_path(request: Request) -> bytes:
    """`/`, or the site's own prefix when the site is served below one (a personal server
    behind `--user`: `/alice.plugserve/`), so that one user's pages never see another's
    session cookie (Twisted always says `/`)."""
    if not request.sitepath:
        return b"/"
    return b"".join(b"/" + quote(s, safe="").encode("ascii") for s in request.sitepath) + b"/"


def _get_session(request: Request, interface: Any, force_not_secure: bool) -> Any:
    """Find this browser's session through its cookie (one per secure-ness and site path, as
    Twisted names them), or create one through the Site and set the cookie."""
    secure = request.isSecure() and not force_not_secure
    cached: Session | None = getattr(request, "_session_secure" if secure else "_session", None)
    if cached is None or cached.is_expired():
        site = request.site
        name = _cookie_name(request, secure)
        uid = request.getCookie(name)
        session = site.getSession(uid) if uid else None
        if session is None:
            session = site.makeSession()
            request.addCookie(name, session.uid, path=_cookie_path(request), secure=secure,
                              httpOnly=True, sameSite="lax")
        cached = session
        setattr(request, "_session_secure" if secure else "_session", session)
        if not secure or request.session is None:
            request.session = session
    cached.touch()
    if interface is not None:
        return cached.getComponent(interface)
    return cached
