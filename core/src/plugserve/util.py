"""Helpers of `twisted.web.util`: redirects, URLPath, and `println` for ported examples."""

from __future__ import annotations

import html
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from .resource import Resource

if TYPE_CHECKING:
    from ._addressing import RequestAddressing
    from ._request import Request

__all__ = ["ParentRedirect", "Redirect", "URLPath", "println", "redirectTo"]


def redirectTo(URL: bytes, request: Request) -> bytes:
    """Answer 302 to `URL` and return a small HTML page linking to it (the URL escaped)."""
    if not isinstance(URL, bytes):
        raise TypeError("URL must be bytes")
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    request.redirect(URL)
    target = html.escape(URL.decode("utf-8", "replace"), quote=True)
    return (
        f'<!DOCTYPE html>\n<html>\n    <head>\n        <meta http-equiv="refresh" '
        f'content="0;URL={target}">\n    </head>\n    <body bgcolor="#FFFFFF" text="#000000">\n'
        f'    <a href="{target}">click here</a>\n    </body>\n</html>\n'
    ).encode()


class Redirect(Resource):
    """A leaf that redirects every path under it to one URL."""

    isLeaf = True

    def __init__(self, url: bytes) -> None:
        super().__init__()
        self.url = url

    def render(self, request: Request) -> bytes:
        """Redirect, whatever the method."""
        return redirectTo(self.url, request)


class ParentRedirect(Resource):
    """Redirect to the parent of the requested URL (`/a/b` -> `/a/`)."""

    isLeaf = True

    def render(self, request: Request) -> bytes:
        """Redirect, whatever the method."""
        return redirectTo(str(URLPath.fromRequest(request).here()).encode("utf-8"), request)


class URLPath:
    """An absolute URL with navigation helpers (Twisted's `twisted.python.urlpath.URLPath`)."""

    def __init__(self, url: str) -> None:
        self._url = url

    @classmethod
    def fromString(cls, url: str) -> URLPath:
        """From a str URL."""
        return cls(url)

    @classmethod
    def fromBytes(cls, url: bytes) -> URLPath:
        """From a bytes URL."""
        return cls(url.decode("utf-8"))

    @classmethod
    def fromRequest(cls, request: RequestAddressing) -> URLPath:
        """The URL the request was made for (scheme, Host, path and query)."""
        base = request._url_for([])[:-1].decode("ascii")
        query = request.uri.partition(b"?")[2]
        target = request.path + (b"?" + query if query else b"")
        return cls(base + target.decode("latin-1"))

    def _path_url(self, path: str, keep_query: bool = False) -> URLPath:
        parts = urlsplit(self._url)
        return URLPath(urlunsplit((parts.scheme, parts.netloc, path,
                                   parts.query if keep_query else "", "")))

    def here(self) -> URLPath:
        """This URL's directory: everything up to the last `/`."""
        return URLPath(urljoin(self._url, "."))

    def parent(self) -> URLPath:
        """The directory above."""
        return URLPath(urljoin(self._url, ".."))

    def child(self, segment: str) -> URLPath:
        """A child of this URL."""
        path = urlsplit(self._url).path
        if not path.endswith("/"):
            path += "/"
        return self._path_url(path + quote(segment, safe=""))

    def sibling(self, segment: str) -> URLPath:
        """A sibling of this URL."""
        return URLPath(urljoin(self._url, quote(segment, safe="")))

    def click(self, href: str) -> URLPath:
        """Resolve a relative link against this URL."""
        return URLPath(urljoin(self._url, href))

    def __str__(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"URLPath({self._url!r})"


def println(*args: Any) -> None:
    """Print the arguments on one line and flush (Twisted's `twisted.python.util.println`)."""
    sys.stdout.write(" ".join(str(a) for a in args) + "\n")
    sys.stdout.flush()
