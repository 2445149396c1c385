"""`ResourceSubscription(host, port)`: a subtree served by another server, the personal server
of a user (`host == "unix"`: `port` is its socket), relayed over plain HTTP/1.1.

Bodies stream both ways with back-pressure; Range, conditional requests and HEAD pass
through as they are.  A personal server that is not running is a 502 at once (the connect
timeout is a second); one that dies mid-response aborts the client connection, so a
truncated body never looks complete.  At most `--user-max-concurrent` requests are relayed
to one server at a time (one more is a 503), and each wait for it is bounded by
`--user-timeout`.  With `owner`, the socket is used only if that uid owns it."""

from __future__ import annotations

import logging
import os
import stat
from typing import Any
from urllib.parse import quote

from plugserve.client import Upstream, UpstreamError, request_body
from plugserve.error import ConnectionLost
from plugserve.http_headers import end_to_end
from plugserve.resource import Resource, error_html

from . import _settings
from ._front import FRONT_HEADERS, front_headers

__all__ = ["ResourceSubscription"]

_log = logging.getLogger("plugserve.distrib")
_SAFE = "!$&'()*+,;=:@~-._"


def _error(request: Any, status: int, brief: str, detail: str) -> None:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    if status == 503:
        request.setHeader(b"retry-after", b"1")
    request.write(error_html(status, brief, detail))
    request.finish()


class ResourceSubscription(Resource):
    """Everything below this resource is served by the server at `host:port`, or on the UNIX
    socket `port` when `host` is "unix" (Twisted's convention).  `owner`: the uid that must
    own the socket (UserDirectory gives the user's); `name`: who the server belongs to, for
    the error pages."""

    isLeaf = True
    stream_request_body = True

    def __init__(self, host: str, port: int | str, *, owner: int | None = None,
                 name: str | None = None) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self.owner = owner
        self.name = name
        if host == "unix":
            self.upstream = Upstream("localhost", 80, str(port))
        else:
            self.upstream = Upstream(host, int(port))

    def __repr__(self) -> str:
        return f"<ResourceSubscription {self.host}:{self.port}>"

    def render(self, request: Any) -> Any:
        """Relay the request (a coroutine: cancelled, with its upstream connection, if the
        client leaves)."""
        return self._render(request)

    def _whose(self) -> str:
        return f"{self.name}'s personal server" if self.name else "The personal server"

    def _refused(self) -> str | None:
        """Why the socket must not be used, or None."""
        path = self.upstream.socket_path
        if path is None or self.owner is None:
            return None
        try:
            info = os.stat(path)
        except OSError as exc:
            return f"{path}: {exc.strerror}"
        if not stat.S_ISSOCK(info.st_mode):
            return f"{path} is not a socket"
        if info.st_uid != self.owner:
            return f"{path} is owned by uid {info.st_uid}, not by the user (uid {self.owner})"
        return None

    async def _render(self, request: Any) -> None:
        refused = self._refused()
        if refused is not None:
            _log.warning("distrib: %s %s: not relayed: %s", request.method.decode("latin-1"),
                         request.uri.decode("latin-1"), refused)
            _error(request, 502, "Bad Gateway", f"{self._whose()} is not running.")
            return
        key = str(self.upstream)
        settings = _settings.current()
        if _settings.in_flight[key] >= settings.max_per_user:
            _log.warning("distrib: %s: %d requests in flight already (--user-max-concurrent)",
                         key, settings.max_per_user)
            _error(request, 503, "Service Unavailable",
                   f"{self._whose()} is busy; try again in a moment.")
            return
        _settings.in_flight[key] += 1
        try:
            await self._relay(request)
        finally:
            _settings.in_flight[key] -= 1
            if not _settings.in_flight[key]:
                del _settings.in_flight[key]

    async def _relay(self, request: Any) -> None:
        prefix = b"".join(b"/" + quote(s, safe=_SAFE).encode("ascii")
                          for s in request.prepath)
        target = b"/" + b"/".join(quote(s, safe=_SAFE).encode("ascii")
                                  for s in request.postpath)
        query = request.uri.partition(b"?")[2]
        if query:
            target += b"?" + query
        raw = [(name.lower(), value) for name, values in request.requestHeaders.getAllRawHeaders()
               for value in values]
        headers = [(n, v) for n, v in end_to_end(raw) if n not in FRONT_HEADERS]
        headers += front_headers(request, prefix or b"/")
        body, length = request_body(request)
        try:
            response = await _settings.pool().request(self.upstream, request.method, target,
                                                      headers, body, content_length=length)
        except UpstreamError as exc:
            _log.warning("distrib: %s %s: %s: %s", request.method.decode("latin-1"),
                         request.uri.decode("latin-1"), self.upstream, exc)
            if exc.status == 504:
                _error(request, 504, "Gateway Timeout", f"{self._whose()} did not answer "
                       "in time.")
            else:
                _error(request, 502, "Bad Gateway", f"{self._whose()} is not running, or "
                       "its answer was not valid HTTP.")
            return
        try:
            request.setResponseCode(response.status, response.reason)
            for name, value in end_to_end(response.headers):
                request.responseHeaders.addRawHeader(name, value)
            if response.content_length is not None:
                request.setHeader(b"content-length", str(response.content_length).encode())
            try:
                while (chunk := await response.read_chunk()) is not None:
                    request.write(chunk)
                    await request.wait_writable()
            except UpstreamError as exc:
                _log.warning("distrib: %s %s: the response broke off: %s",
                             request.method.decode("latin-1"), request.uri.decode("latin-1"),
                             exc)
                request.loseConnection()  # a truncated body must not look complete
                return
            except ConnectionLost:
                return  # the client left: the upstream connection is dropped below
            request.finish()
        finally:
            await response.aclose()

