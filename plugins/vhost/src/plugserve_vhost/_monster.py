"""`VHostMonsterResource`: a reverse proxy in front names the host and scheme in the path.

A front server proxies `http://example.com/page` to `/vhost.rpy/http/example.com:80/page`.
The request then looks as if it had arrived at `http://example.com/page`: Host, scheme and
port are set (`setHost`), the consumed segments are cut from `uri`, `path` and `prepath`,
and traversal restarts at the site root with the rest.  Every URL the site makes
(`prePathURL`, `URLPath`, redirects, listings) then names the front server."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from plugserve.resource import ErrorPage, IResource, Resource, getChildForRequest

from ._names import host_key

if TYPE_CHECKING:
    from plugserve.server import Request

__all__ = ["VHostMonsterResource"]

_log = logging.getLogger("plugserve.vhost")

_SCHEMES = {b"http": False, b"https": True}


def _bad_request(request: Request, why: str) -> IResource:
    _log.info("bad VHostMonster path from %s: %s", request.getClientIP(), why)
    return ErrorPage(400, "Bad Request", why)


class VHostMonsterResource(Resource):
    """Mount it anywhere (Twisted's only works directly under the root), typically as
    `vhost.rpy`; below it, `/http/HOST[:PORT]/rest` or `/https/HOST[:PORT]/rest`.  The port
    defaults to the scheme's (443 for https; Twisted uses 80).  Any other scheme word, or a
    malformed host or port, is a 400."""

    def getChild(self, path: bytes, request: Request) -> IResource:
        secure = _SCHEMES.get(path)
        if secure is None:
            return _bad_request(request, f"{path.decode('latin-1')!r} is not http or https")
        return _HostResource(secure)


class _HostResource(Resource):
    """The scheme segment's child: the next segment is the front host."""

    def __init__(self, secure: bool) -> None:
        super().__init__()
        self.secure = secure

    def getChild(self, path: bytes, request: Request) -> IResource:
        host, port = _split_host(path, 443 if self.secure else 80)
        if host is None or port is None:
            return _bad_request(request, f"{path.decode('latin-1')!r} is not HOST[:PORT] "
                                "with a port from 1 to 65535")
        request.setHost(host, port, self.secure)
        # `path` is the target's path as it came (not decoded), one segment per prepath item.
        rest = request.path[1:].split(b"/")[len(request.prepath):]
        if not request.postpath:  # /vhost.rpy/http/example.com is the front's /
            request.postpath.append(b"")
        query, sep = request.uri.partition(b"?")[2], b"?" in request.uri
        request.path = b"/" + b"/".join(rest)
        request.uri = request.path + (b"?" + query if sep else b"")
        del request.prepath[:]  # in place: the traversal loop holds this list
        site = request.site
        request.sitepath = []
        for rule in getattr(site, "rewriteRules", ()):
            rule(request)
        return getChildForRequest(site.resource, request)


def _split_host(segment: bytes, default_port: int) -> tuple[bytes | None, int | None]:
    """(host as it goes in Host, port) from `HOST[:PORT]`; None where it is malformed
    (`example.com:` with an empty port, `[::1` without its bracket, `a:1:2`)."""
    if segment.startswith(b"["):
        name, bracket, tail = segment.partition(b"]")
        name += bracket
        sep, port_text = tail[:1], tail[1:]
        if not bracket or sep not in (b"", b":"):
            return None, None
    else:
        name, sep, port_text = segment.partition(b":")
    if host_key(name) is None:
        return None, None
    if not sep:
        return name.lower(), default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return name.lower(), None
    return name.lower(), int(port_text)
