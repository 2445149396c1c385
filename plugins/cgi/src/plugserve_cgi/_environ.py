"""The environment and argv of a CGI script (RFC 3875 §4), built from the request.

Values are bytes, as the request has them: a path segment or header that is not UTF-8 reaches
the script unchanged.  What differs from Twisted (shared/reference/twisted-web.md §6.1), on
purpose:

- the server's own environment is not copied: only PATH and what `--cgi-env` allows;
- PATH_INFO and PATH_TRANSLATED are set (Twisted fails with a 500), SERVER_NAME/SERVER_PORT
  come from Host with IPv6 literals kept whole, and REMOTE_PORT, HTTPS, REQUEST_SCHEME and
  DOCUMENT_ROOT are set;
- a repeated header is joined (", ", or "; " for Cookie) instead of keeping the last one;
- a header whose name holds `_` is dropped, so `X_Forwarded_For` cannot pose as
  `X-Forwarded-For`, and `Proxy` never becomes HTTP_PROXY (httpoxy);
- the query becomes argv only when its *decoded* form has no `=` (RFC 3875 §4.4), and never
  for a FilteredScript, where argv goes to the interpreter (php-cgi's CVE-2012-1823).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote_to_bytes

from plugserve import __version__

from ._settings import CGISettings

__all__ = ["NulByte", "cgi_environ", "query_argv"]

_SKIPPED = frozenset({b"content-type", b"content-length", b"proxy"})


class NulByte(ValueError):
    """A NUL byte in what would reach the script (a `%00` in the path or query): no process can
    be given it, so the request is refused with 400."""


def _check(value: bytes, what: str) -> bytes:
    if b"\0" in value:
        raise NulByte(f"a NUL byte in the {what}")
    return value


def query_argv(query: bytes) -> list[bytes]:
    """The ISINDEX argv of a query (RFC 3875 §4.4): `foo+bar%20baz` gives
    `[b"foo", b"bar baz"]`; a query whose decoded form holds `=`, or an empty one, gives none."""
    if not query or b"=" in unquote_to_bytes(query):
        return []
    return [_check(unquote_to_bytes(word), "query") for word in query.split(b"+")]


def _server_name(request: Any) -> bytes:
    """SERVER_NAME: the Host header's name, an IPv6 literal in its brackets (RFC 3875 §4.1.14)."""
    host = request.requestHeaders.getRawHeaders(b"host")
    if host:
        value: bytes = host[-1]
        if value.startswith(b"["):
            return value.split(b"]", 1)[0] + b"]"
        return value.rsplit(b":", 1)[0]
    local = getattr(request.getHost(), "host", "localhost")
    return (f"[{local}]" if ":" in local else str(local)).encode("ascii", "replace")


def _script_name(prepath: list[bytes], script: bytes) -> bytes:
    """`/` + prepath; for an index script (`/dir/` served by `dir/index.php`), the script's
    own URL (`/dir/index.php`), as Apache's DirectoryIndex gives it."""
    segments = list(prepath)
    if segments and segments[-1] == b"":
        segments[-1] = os.path.basename(script)
    return _check(b"".join(b"/" + s for s in segments), "path")


def _headers(request: Any) -> dict[bytes, bytes]:
    """HTTP_* for the request's headers: repeats joined, names with `_` and Proxy dropped."""
    found: dict[bytes, list[bytes]] = {}
    for name, values in request.requestHeaders.getAllRawHeaders():
        lower = name.lower()
        if b"_" in lower or lower in _SKIPPED:
            continue
        found.setdefault(b"HTTP_" + lower.upper().replace(b"-", b"_"), []).extend(values)
    return {key: (b"; " if key == b"HTTP_COOKIE" else b", ").join(values)
            for key, values in found.items()}


def cgi_environ(request: Any, filename: str, settings: CGISettings,
                content_length: int | None) -> dict[bytes, bytes]:
    """The whole environment of the script at `filename` for `request`, which has traversed to
    it (its `prepath` names the script, its `postpath` is the path info), but CONTENT_LENGTH
    when `content_length` is None.  NulByte when a part of the request holds a NUL byte."""
    env = {os.fsencode(k): os.fsencode(v) for k, v in settings.environ}
    script = os.fsencode(filename)
    root = os.fsencode(settings.document_root or os.path.dirname(filename))
    uri: bytes = request.uri
    query = uri.partition(b"?")[2]
    secure = request.isSecure()
    env.update(_headers(request))
    env.update({
        b"GATEWAY_INTERFACE": b"CGI/1.1",
        b"SERVER_SOFTWARE": b"plugserve/" + __version__.encode(),
        b"SERVER_PROTOCOL": request.clientproto,
        b"SERVER_NAME": _server_name(request),
        b"SERVER_PORT": str(request.host_port()).encode(),
        b"REQUEST_METHOD": request.method,
        b"REQUEST_URI": uri,
        b"REQUEST_SCHEME": b"https" if secure else b"http",
        b"SCRIPT_NAME": _script_name(request.prepath, script),
        b"SCRIPT_FILENAME": script,
        b"DOCUMENT_ROOT": root,
        b"QUERY_STRING": query,
    })
    if secure:
        env[b"HTTPS"] = b"on"
    if request.postpath:
        path_info = _check(b"".join(b"/" + s for s in request.postpath), "path")
        env[b"PATH_INFO"] = path_info
        env[b"PATH_TRANSLATED"] = root.rstrip(b"/") + path_info
    client = request.getClientAddress()
    if getattr(client, "host", None) is not None:
        env[b"REMOTE_ADDR"] = str(client.host).encode("ascii")
        env[b"REMOTE_PORT"] = str(client.port).encode("ascii")
    if content_length is not None:
        env[b"CONTENT_LENGTH"] = str(content_length).encode()
    content_type = request.requestHeaders.getRawHeaders(b"content-type")
    if content_type:
        env[b"CONTENT_TYPE"] = content_type[-1]
    return env
