"""`CGIDirectory(pathname)`: every executable file in a folder is a CGI script.

Twisted's behaviour (shared/reference/twisted-web.md §6.4), with its 500s made the answers they
should be: `..`, `.`, an empty segment, a `/` or NUL inside one (`%2F`, `%00`), in any encoding,
is 404, as a missing file is; a symlink that leads out of the folder is 404 too; the folder
itself is 404 (no listing); a file that is not executable is 403 (`CGIScript.check`).
"""

from __future__ import annotations

import os
from typing import Any

from plugserve.resource import IResource, NoResource, Resource

from ._script import CGIScript

__all__ = ["CGIDirectory"]


class CGIDirectory(Resource):
    """The folder `pathname`: a subfolder is a CGIDirectory, a file a CGIScript."""

    def __init__(self, pathname: str) -> None:
        super().__init__()
        self.path = os.path.abspath(pathname)

    def getChild(self, path: bytes, request: Any) -> IResource:
        """The script or folder named `path`, or a 404."""
        if path in (b"", b".", b"..") or b"/" in path or b"\0" in path:
            return self._not_found()
        child = os.path.join(self.path, os.fsdecode(path))
        real, root = os.path.realpath(child), os.path.realpath(self.path)
        if not (real == root or real.startswith(root.rstrip("/") + "/")):
            return self._not_found()
        if os.path.isdir(child):
            return CGIDirectory(child)
        if not os.path.exists(child):
            return self._not_found()
        return CGIScript(child)

    def render(self, request: Any) -> bytes:
        """The folder itself: 404, as Twisted answers."""
        return NoResource("CGI directories do not support directory listing.").render(request)

    @staticmethod
    def _not_found() -> IResource:
        return NoResource("File not found.")
