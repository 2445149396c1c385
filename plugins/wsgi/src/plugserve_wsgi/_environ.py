"""The PEP 3333 environ of one request, and `wsgi.errors`.

Values are native strings holding the request's bytes decoded as latin-1 ("bytes as unicode",
PEP 3333 §"Unicode Issues"), so an application recovers the exact bytes with
`.encode("latin-1")`.  `SCRIPT_NAME` and `PATH_INFO` come from traversal (`prepath` and
`postpath`, whose segments are already percent-decoded, as CGI and Twisted do: `%2F` is `/`);
the undecoded target is in `REQUEST_URI`.  Unlike Twisted, `Content-Type` and `Content-Length`
appear only as `CONTENT_TYPE`/`CONTENT_LENGTH`, and a header whose name has an underscore is
dropped, so `X_Forwarded_For` cannot pose as `X-Forwarded-For` (both would be
`HTTP_X_FORWARDED_FOR`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from plugserve.address import UNIXAddress

from ._files import FileWrapper
from ._input import InputStream

if TYPE_CHECKING:
    from plugserve.server import Request

__all__ = ["ErrorStream", "build_environ"]

_errors_log = logging.getLogger("plugserve.wsgi")

#: The keys that are the same for every request.
_CONSTANT: Final = MappingProxyType({
    "wsgi.version": (1, 0),
    "wsgi.multithread": True,
    "wsgi.run_once": False,
    "wsgi.input_terminated": True,
    "wsgi.file_wrapper": FileWrapper,
})
_SKIPPED: Final = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})


class ErrorStream:
    """`wsgi.errors`: a text stream whose lines go to the `plugserve.wsgi` logger (ERROR)."""

    def __init__(self) -> None:
        self._partial = ""

    def write(self, text: str) -> int:
        """Log each complete line; keep a partial one until its end or flush()."""
        if not isinstance(text, str):
            raise TypeError(f"wsgi.errors.write needs str, not {type(text).__name__}")
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            _errors_log.error("%s", line)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        """write() each of `lines`."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Log a pending partial line."""
        if self._partial:
            line, self._partial = self._partial, ""
            _errors_log.error("%s", line)


def build_environ(request: Request, errors: ErrorStream) -> dict[str, Any]:
    """The environ of `request`, with `wsgi.input` over its body and `errors` as `wsgi.errors`."""
    environ = dict(_CONSTANT)
    environ["SCRIPT_NAME"], environ["PATH_INFO"] = _paths(request.prepath, request.postpath)
    environ["REQUEST_METHOD"] = request.method.decode("latin-1")
    environ["QUERY_STRING"] = request.uri.partition(b"?")[2].decode("latin-1")
    environ["REQUEST_URI"] = request.uri.decode("latin-1")
    environ["SERVER_PROTOCOL"] = request.clientproto.decode("latin-1")
    environ["SERVER_SOFTWARE"] = request.site.serverName.decode("latin-1")
    environ["wsgi.url_scheme"] = "https" if request.isSecure() else "http"
    # Several processes serve the same sockets with `--workers N`: the application is then
    # loaded in each, and PEP 3333 asks the server to say so.
    config = request.site.config
    environ["wsgi.multiprocess"] = config is not None and getattr(config, "workers", 1) > 1
    _add_addresses(environ, request)
    length = _add_headers(environ, request)
    # A streamed body (stream_request_body) is read through its blocking reads.
    environ["wsgi.input"] = InputStream(getattr(request.content, "blocking", request.content),
                                        length)
    environ["wsgi.errors"] = errors
    return environ


def _paths(prepath: list[bytes], postpath: list[bytes]) -> tuple[str, str]:
    """SCRIPT_NAME and PATH_INFO.  A SCRIPT_NAME never ends with "/" (PEP 3333, CGI): a
    resource reached through an empty segment (`putChild(b"", ...)`, then `/` or `/app/`)
    gives that slash to PATH_INFO, so that the two still join into the path."""
    script = "/" + b"/".join(prepath).decode("latin-1") if prepath else ""
    path = "/" + b"/".join(postpath).decode("latin-1") if postpath else ""
    if script.endswith("/"):
        script, path = script[:-1], "/" + path
    return script, path


def _add_addresses(environ: dict[str, Any], request: Request) -> None:
    environ["SERVER_NAME"] = request.getRequestHostname().decode("latin-1")
    host = request.getHost()
    if isinstance(host, UNIXAddress):
        environ["SERVER_PORT"] = _host_header_port(request)
    else:
        environ["SERVER_PORT"] = str(host.port)
    client = request.getClientAddress()
    if isinstance(client, UNIXAddress):
        environ["REMOTE_ADDR"] = environ["REMOTE_PORT"] = ""
    else:
        environ["REMOTE_ADDR"] = client.host
        environ["REMOTE_PORT"] = str(client.port)


def _host_header_port(request: Request) -> str:
    """The port a UNIX-socket request was addressed to: the Host header's, else the scheme's."""
    host = request.getHeader(b"host") or b""
    tail = host.rsplit(b"]", 1)[-1]
    port = tail.rpartition(b":")[2] if b":" in tail else b""
    if port.isdigit():
        return port.decode("ascii")
    return "443" if request.isSecure() else "80"


def _add_headers(environ: dict[str, Any], request: Request) -> int | None:
    """Add CONTENT_TYPE, CONTENT_LENGTH and HTTP_*; return the body's length (None: chunked)."""
    content_type = request.getHeader(b"content-type")
    environ["CONTENT_TYPE"] = content_type.decode("latin-1") if content_type else ""
    content_length = request.getHeader(b"content-length")
    length: int | None = 0  # RFC 9112 §6.3: neither header, no body
    if request.getHeader(b"transfer-encoding") is not None:
        length = None  # chunked: read to the end of the body
        environ["CONTENT_LENGTH"] = ""
    elif content_length is not None:
        length = int(content_length)
        environ["CONTENT_LENGTH"] = str(length)
    else:
        environ["CONTENT_LENGTH"] = ""
    for name, values in request.requestHeaders.getAllRawHeaders():
        key = _environ_key(name)
        if key is None:
            continue
        if len(values) == 1:
            environ[key] = values[0].decode("latin-1")
        else:
            # RFC 9110 §5.3 joins repeated fields with commas; cookies are joined with "; "
            # (RFC 9113 §8.2.3), since a comma inside a Cookie header is part of a value.
            separator = "; " if key == "HTTP_COOKIE" else ","
            environ[key] = separator.join(v.decode("latin-1") for v in values)
    return length


@lru_cache(maxsize=512)
def _environ_key(name: bytes) -> str | None:
    """`HTTP_X_FOO` for the header `X-Foo`; None for a name with `_` and for the two headers
    that have keys of their own (CONTENT_TYPE, CONTENT_LENGTH)."""
    key = name.decode("latin-1").upper()
    if "_" in key:
        return None
    key = key.replace("-", "_")
    return None if key in _SKIPPED else "HTTP_" + key
