"""Resources for the vhost tests that answer with what reached them, as JSON."""

from __future__ import annotations

import json
from typing import Any

from plugserve.resource import Resource

__all__ = ["Tell"]


class Tell(Resource):
    """A leaf (or, with `leaf=False`, a tree whose every child is a leaf Tell) answering
    `{"name", "postpath", "prepath", "uri", "path", "host", "url", "urlpath", "secure",
    "client"}`: which host resource was reached, and how the request looked there."""

    def __init__(self, name: str, leaf: bool = True) -> None:
        super().__init__()
        self.name = name
        self.isLeaf = leaf

    def getChild(self, path: bytes, request: Any) -> Resource:
        return Tell(f"{self.name}/{path.decode()}")

    def render(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({
            "name": self.name,
            "postpath": [p.decode("latin-1") for p in request.postpath],
            "prepath": [p.decode("latin-1") for p in request.prepath],
            "uri": request.uri.decode("latin-1"),
            "path": request.path.decode("latin-1"),
            "host": (request.getHeader(b"host") or b"").decode("latin-1"),
            "url": request.prePathURL().decode("latin-1"),
            "urlpath": str(request.URLPath()),
            "secure": request.isSecure(),
            "client": request.getClientIP(),
            "client_port": getattr(request.getClientAddress(), "port", None),
        }).encode()
