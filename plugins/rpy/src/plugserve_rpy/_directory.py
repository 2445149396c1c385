"""`ResourceScriptDirectory`: a folder whose `.rpy` files are served by name, and nothing else.

Each segment is checked before it touches the filesystem: a segment that is empty, `.` or `..`,
starts with a dot, holds `/`, `\\` or NUL, or is not UTF-8 is 404, so a request never leaves the
folder.  A subfolder is another ResourceScriptDirectory sharing the registry; a `.rpy` file is
run; anything else, static files included, is 404.  Twisted's version needed a bytes path (a str
one made every child a 500) and ran files of any extension; this one takes either and runs only
`.rpy` files.
"""

from __future__ import annotations

import os
from typing import Final

from plugserve.resource import IResource, NoResource, Registry, Resource
from plugserve.server import Request

from ._script import ResourceScript, ScriptPath

__all__ = ["ResourceScriptDirectory"]

SCRIPT_EXTENSION: Final = ".rpy"
_NOT_FOUND: Final = NoResource("No such resource script.")


class ResourceScriptDirectory(Resource):
    """Every `.rpy` file under `pathname`, by name (`/sub/page.rpy`), run on each request."""

    def __init__(self, pathname: ScriptPath, registry: Registry | None = None) -> None:
        super().__init__()
        self.path = os.path.abspath(os.fsdecode(pathname))
        self.registry = registry if registry is not None else Registry()

    def getChild(self, path: bytes, request: Request) -> IResource:
        """A subfolder, a script run for this request, or 404."""
        name = _safe_name(path)
        if name is None:
            return _NOT_FOUND
        child = os.path.join(self.path, name)
        if os.path.isdir(child):
            return ResourceScriptDirectory(child, self.registry)
        if name.endswith(SCRIPT_EXTENSION) and os.path.isfile(child):
            return ResourceScript(child, self.registry)
        return _NOT_FOUND

    def render(self, request: Request) -> bytes:
        """The folder itself is not a page: 404, as in Twisted."""
        return _NOT_FOUND.render(request)


def _safe_name(segment: bytes) -> str | None:
    """The segment as a file name in this folder, or None if it is not one."""
    try:
        name = segment.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not name or name.startswith(".") or any(c in name for c in "/\\\0"):
        return None
    return name
