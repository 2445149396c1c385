"""URL rewriting: RewriterResource with tildeToUsers and alias.

Reference: shared/reference/twisted-web.md §13 ("tildeToUsers/alias do nothing" in Twisted);
plugserve applies the rules before traversal continues into the wrapped resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plugserve.resource import Resource
from plugserve.rewrite import RewriterResource, alias, tildeToUsers
from plugserve.server import Site
from plugserve.testing import TestServer

ServerFactory = Callable[..., TestServer]


class PathEcho(Resource):
    """A leaf answering with its prepath, postpath and request.path."""

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return repr((request.prepath, request.postpath, request.path)).encode()


class UserDirectory(Resource):
    """`/users/<name>/...`: a PathEcho per user name."""

    def getChild(self, path: bytes, request: Any) -> Any:
        return PathEcho()


class Text(Resource):
    isLeaf = True

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def render_GET(self, request: Any) -> bytes:
        return self.body


def make_default() -> Resource:
    default = Resource()
    default.putChild(b"users", UserDirectory())
    default.putChild(b"", Text(b"home"))
    default.putChild(b"plain", Text(b"plain"))
    return default


def echo(server: Any, path: str) -> Any:
    response = server.get(path)
    assert response.status == 200, (path, response.status, response.body)
    return eval(response.body)


def test_tilde_to_users(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(RewriterResource(make_default(), tildeToUsers))
    assert echo(server, "/~foo/bar") == ([b"users", b"foo"], [b"bar"], b"/users/foo/bar")
    assert echo(server, "/~foo/bar.html") == (
        [b"users", b"foo"], [b"bar.html"], b"/users/foo/bar.html"
    )
    assert echo(server, "/~foo") == ([b"users", b"foo"], [], b"/users/foo")
    assert echo(server, "/~foo/") == ([b"users", b"foo"], [b""], b"/users/foo/")
    # The encoded form of ~ is decoded before the rule sees it.
    assert echo(server, "/%7Efoo/x")[0] == [b"users", b"foo"]


def test_tilde_to_users_leaves_other_paths_alone(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(RewriterResource(make_default(), tildeToUsers))
    assert server.get("/").body == b"home"
    assert server.get("/plain").body == b"plain"
    assert echo(server, "/users/direct/x") == ([b"users", b"direct"], [b"x"], b"/users/direct/x")
    assert server.get("/nothing").status == 404
    # A ~ that is not the first segment below the rewriter is not rewritten.
    assert server.get("/plain/~foo").body == b"plain"


def test_rewriter_below_the_root(plugserve_server: ServerFactory) -> None:
    root = Resource()
    root.putChild(b"site", RewriterResource(make_default(), tildeToUsers))
    server = plugserve_server(root)
    assert echo(server, "/site/~joe/page") == (
        [b"site", b"users", b"joe"], [b"page"], b"/site/users/joe/page"
    )
    assert server.get("/site/plain").body == b"plain"


def test_alias(plugserve_server: ServerFactory) -> None:
    default = Resource()
    docs = Resource()
    default.putChild(b"docs", docs)
    docs.putChild(b"about", PathEcho())
    default.putChild(b"about", Text(b"shadowed"))
    server = plugserve_server(RewriterResource(default, alias(b"about", b"docs/about")))
    assert echo(server, "/about") == ([b"docs", b"about"], [], b"/docs/about")
    assert echo(server, "/about/team") == ([b"docs", b"about"], [b"team"], b"/docs/about/team")
    assert echo(server, "/docs/about/x") == ([b"docs", b"about"], [b"x"], b"/docs/about/x")
    # Only whole segments match.
    assert server.get("/aboutus").status == 404


def test_alias_with_slashes_and_several_rules(plugserve_server: ServerFactory) -> None:
    default = make_default()
    target = Resource()
    default.putChild(b"target", target)
    target.putChild(b"deep", PathEcho())
    server = plugserve_server(RewriterResource(
        default, alias(b"/short/", b"/target/deep/"), tildeToUsers
    ))
    assert echo(server, "/short/x") == ([b"target", b"deep"], [b"x"], b"/target/deep/x")
    assert echo(server, "/~amy/y") == ([b"users", b"amy"], [b"y"], b"/users/amy/y")


def test_rewriter_renders_wrapped_resource(plugserve_server: ServerFactory) -> None:
    class Page(Resource):
        def render_GET(self, request: Any) -> bytes:
            return b"wrapped page"

    server = plugserve_server(Site(Resource()))
    root = server.site.resource
    root.putChild(b"page", RewriterResource(Page(), tildeToUsers))
    assert server.get("/page").body == b"wrapped page"


def test_rewriter_put_child_goes_to_wrapped(plugserve_server: ServerFactory) -> None:
    default = make_default()
    rewriter = RewriterResource(default, tildeToUsers)
    rewriter.putChild(b"extra", Text(b"extra"))
    server = plugserve_server(rewriter)
    assert server.get("/extra").body == b"extra"
    assert b"extra" in default.children


def test_site_rewrite_rules(plugserve_server: ServerFactory) -> None:
    site = Site(make_default())
    site.rewriteRules.append(tildeToUsers)
    server = plugserve_server(site)
    assert echo(server, "/~foo/bar") == ([b"users", b"foo"], [b"bar"], b"/users/foo/bar")
