"""`URLPath`, an absolute URL with navigation helpers (Twisted's
`twisted.python.urlpath.URLPath`), public as `plugserve.util.URLPath`.  It lives below the
request, which returns one from `Request.URLPath()`."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

if TYPE_CHECKING:
    from ._addressing import RequestAddressing

__all__ = ["URLPath"]


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
