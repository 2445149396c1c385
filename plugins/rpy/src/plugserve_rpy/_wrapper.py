"""`ResourceScriptWrapper`: one script as a whole resource tree, re-run on every request.

This is what `--resource-script FILE.rpy` serves.  Unlike Twisted's wrapper, which is a branch
that runs the script when asked for a child (so `/` asks the script's resource for the child
`b""`, a 404 for a plain Resource), this one is a leaf: rendering runs the script and then
traverses the rest of the path from the script's resource with `getChildForRequest`, so the
script's resource sees the request exactly as a Site's root would.
"""

from __future__ import annotations

import os
from typing import Any

from plugserve.resource import IResource, Registry, Resource, getChildForRequest
from plugserve.server import Request

from ._script import ResourceScript, ScriptPath

__all__ = ["ResourceScriptWrapper"]


class ResourceScriptWrapper(Resource):
    """Serves the resource of the script at `path`, running the script for every request."""

    isLeaf = True

    def __init__(self, path: ScriptPath, registry: Registry | None = None) -> None:
        super().__init__()
        self.path = os.path.abspath(os.fsdecode(path))
        self.registry = registry if registry is not None else Registry()

    def render(self, request: Request) -> Any:
        """Run the script, traverse the rest of the path from its resource, render that."""
        resource = ResourceScript(self.path, self.registry)
        return getChildForRequest(resource, request).render(request)

    def getChildWithDefault(self, path: bytes, request: Request) -> IResource:
        """Run the script and ask its resource for the child (for callers that traverse into
        the wrapper themselves, as Twisted's wrapper does)."""
        return ResourceScript(self.path, self.registry).getChildWithDefault(path, request)
