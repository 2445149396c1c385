"""Helpers of `twisted.web.util`: redirects, URLPath, and `println` for ported examples."""

from __future__ import annotations

import html
import sys
from typing import TYPE_CHECKING, Any

from ._urlpath import URLPath
from .resource import Resource

if TYPE_CHECKING:
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


def println(*args: Any) -> None:
    """Print the arguments on one line and flush (Twisted's `twisted.python.util.println`)."""
    sys.stdout.write(" ".join(str(a) for a in args) + "\n")
    sys.stdout.flush()
