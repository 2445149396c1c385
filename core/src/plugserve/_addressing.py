"""Where a request came from and was addressed to: addresses, host name, scheme, URLs and
HTTP Basic credentials (part of `Request`, kept apart to keep each module small)."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ._urlpath import URLPath
from .address import Address, IPv4Address

if TYPE_CHECKING:
    from ._request import Channel
    from .http_headers import Headers

__all__ = ["RequestAddressing"]


class RequestAddressing:
    """Twisted's addressing methods of a request."""

    channel: Channel
    client: Address
    host: Address
    requestHeaders: Headers
    prepath: list[bytes]
    postpath: list[bytes]
    uri: bytes
    path: bytes
    _force_secure: bool = False

    def getClientAddress(self) -> Address:
        """The peer's address (an IPv4Address, IPv6Address or UNIXAddress)."""
        return self.client

    def getClientIP(self) -> str | None:
        """The peer's IP as a string, or None on a UNIX socket (deprecated in Twisted)."""
        return getattr(self.client, "host", None)

    def getHost(self) -> Address:
        """The local address the request arrived on."""
        return self.host

    def getRequestHostname(self) -> bytes:
        """The Host header without its port (brackets of an IPv6 literal removed)."""
        host = self.requestHeaders._last(b"host")
        if host:
            if host.startswith(b"["):
                return host[1:].split(b"]", 1)[0]
            return host.rsplit(b":", 1)[0] if host.count(b":") == 1 else host
        return str(getattr(self.host, "host", "localhost")).encode("ascii", "replace")

    def host_port(self) -> int:
        """The port the client addressed: the Host header's, else the scheme's default (80,
        443); without a Host header, the local port (a CGI script's SERVER_PORT)."""
        host = self.requestHeaders._last(b"host")
        if host:
            tail = host.rsplit(b"]", 1)[-1]
            if b":" in tail:
                port = tail.rsplit(b":", 1)[1]
                if port.isdigit():
                    return int(port)
            return 443 if self.isSecure() else 80
        return int(getattr(self.host, "port", 0))

    def isSecure(self) -> bool:
        """True over TLS, or after `setHost(..., ssl=True)` (a virtual-host monster)."""
        return self._force_secure or self.channel.is_tls

    def setHost(self, host: bytes, port: int, ssl: bool | int = 0) -> None:
        """Make the request look as if it arrived for `host:port` (vhost monsters do this)."""
        self._force_secure = bool(ssl)
        default = 443 if ssl else 80
        value = host if port == default else host + b":" + str(port).encode("ascii")
        self.requestHeaders.setRawHeaders(b"host", [value])
        self.host = IPv4Address("TCP", host.decode("ascii", "replace"), port)

    def prePathURL(self) -> bytes:
        """The absolute URL of the resource reached so far: scheme, Host, port and prepath."""
        return self._url_for(self.prepath)

    def _url_for(self, segments: list[bytes]) -> bytes:
        secure = self.isSecure()
        port = self.host_port()
        hostname = self.getRequestHostname()
        if b":" in hostname:
            hostname = b"[" + hostname + b"]"
        default = 443 if secure else 80
        netloc = hostname if port == default else hostname + b":" + str(port).encode("ascii")
        path = b"/".join(quote(s, safe="").encode("ascii") for s in segments)
        return (b"https://" if secure else b"http://") + netloc + b"/" + path

    def URLPath(self) -> Any:
        """The request's URL as a URLPath (see plugserve.util.URLPath)."""
        return URLPath.fromRequest(self)

    def rememberRootURL(self) -> None:
        """Remember the current prePathURL as the root URL."""
        self._root_url = self.prePathURL()

    def getRootURL(self) -> bytes | None:
        """The URL remembered by rememberRootURL."""
        return getattr(self, "_root_url", None)

    def childLink(self, name: bytes) -> bytes:
        """A relative link to the child `name` of the current resource."""
        lpp = len(self.postpath)
        if lpp > 1:
            return b"../" * (lpp - 1) + name
        if lpp == 1 and self.postpath[0] != b"":
            return self.prepath[-1] + b"/" + name if self.prepath else name
        return name

    def sibLink(self, name: bytes) -> bytes:
        """A relative link to the sibling `name` of the current resource."""
        lpp = len(self.postpath)
        if lpp:
            return b"../" * lpp + name
        return name

    def getUser(self) -> bytes:
        """The user name of HTTP Basic authentication, or b""."""
        return self._basic_auth()[0]

    def getPassword(self) -> bytes:
        """The password of HTTP Basic authentication, or b""."""
        return self._basic_auth()[1]

    def _basic_auth(self) -> tuple[bytes, bytes]:
        header = self.requestHeaders._last(b"authorization")
        if not header:
            return b"", b""
        scheme, _, value = header.partition(b" ")
        if scheme.lower() != b"basic":
            return b"", b""
        try:
            decoded = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return b"", b""
        user, sep, password = decoded.partition(b":")
        return (user, password) if sep else (b"", b"")
