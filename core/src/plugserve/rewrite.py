"""Rewriting requests before traversal, as in `twisted.web.rewrite`.

A rule is a callable that takes the request and may change its `postpath` (and `path`/`uri`).
Unlike Twisted's, whose rules never took effect, `RewriterResource` applies them before
traversal continues into the wrapped resource, and `tildeToUsers` really maps `/~foo/bar` to
`/users/foo/bar`.  Site-wide rules come from the `plugserve_rewrite_rules` hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .resource import IResource

if TYPE_CHECKING:
    from ._request import Request

__all__ = ["RewriterResource", "alias", "tildeToUsers"]

Rule = Callable[["Request"], None]


class RewriterResource:
    """Apply rules to the request, then continue traversal as if `resource` were the child."""

    def __init__(self, orig: IResource, *rewriteRules: Rule) -> None:
        self.resource = orig
        self.rewriteRules = list(rewriteRules)

    @property
    def isLeaf(self) -> bool:
        """Never a leaf: the rules need the rest of the path."""
        return False

    def _rewrite(self, request: Request) -> None:
        for rule in self.rewriteRules:
            rule(request)

    def getChildWithDefault(self, path: bytes, request: Request) -> IResource:
        """Put the segment back, rewrite the remaining path, and continue in `resource`."""
        request.postpath.insert(0, request.prepath.pop())
        self._rewrite(request)
        path = request.postpath.pop(0)
        request.prepath.append(path)
        return self.resource.getChildWithDefault(path, request)

    def putChild(self, path: bytes | str, child: IResource) -> None:
        """Add a child to the wrapped resource."""
        self.resource.putChild(path, child)

    def render(self, request: Request) -> Any:
        """Rewrite, then render the wrapped resource (or traverse on if the rules added path)."""
        self._rewrite(request)
        if request.postpath:
            from .resource import getChildForRequest

            return getChildForRequest(self.resource, request).render(request)
        return self.resource.render(request)


def tildeToUsers(request: Request) -> None:
    """`/~foo/bar` -> `/users/foo/bar`."""
    if request.postpath and request.postpath[0][:1] == b"~":
        request.postpath[:1] = [b"users", request.postpath[0][1:]]
        request.path = b"/" + b"/".join(request.prepath + request.postpath)


def alias(aliasPath: bytes, sourcePath: bytes) -> Rule:
    """A rule serving `sourcePath` at `aliasPath` (e.g. `alias(b"about", b"docs/about")`)."""
    alias_parts = aliasPath.strip(b"/").split(b"/")
    source_parts = sourcePath.strip(b"/").split(b"/")

    def rewriter(request: Request) -> None:
        if request.postpath[: len(alias_parts)] == alias_parts:
            request.postpath[: len(alias_parts)] = source_parts
            request.path = b"/" + b"/".join(request.prepath + request.postpath)

    return rewriter
