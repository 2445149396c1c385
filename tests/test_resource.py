"""Traversal, render dispatch and the error pages of plugserve.resource, checked over HTTP.

Behaviour follows Twisted Web (shared/reference/twisted-web.md §1.1, §1.2, §1.9, §1.13) except
where plugserve fixes a Twisted bug on purpose (HEAD on a POST-only resource is a 405, not a 500;
a failure after the head was sent drops the connection instead of appending an error page).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import types
from collections.abc import Callable
from typing import Any

import pytest
from plugserve import reactor
from plugserve.resource import (
    ErrorPage,
    ForbiddenResource,
    NoResource,
    Resource,
    getChildForRequest,
)
from plugserve.server import NOT_DONE_YET, Site
from plugserve.testing import TestServer
from plugserve.util import redirectTo

ServerFactory = Callable[..., TestServer]

FAILED_PAGE = (
    b"<html><head><title>Processing Failed</title></head><body><b>Processing Failed</b>"
    b"</body></html>"
)


class PathEcho(Resource):
    """A leaf that answers with its prepath and postpath."""

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return repr((request.prepath, request.postpath)).encode()


class Text(Resource):
    """A leaf that answers GET with a fixed body."""

    isLeaf = True

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def render_GET(self, request: Any) -> bytes:
        return self.body


class Dynamic(Resource):
    """Every unknown segment is a PathEcho leaf (getChild)."""

    def getChild(self, path: bytes, request: Any) -> Any:
        return PathEcho()


def echo(server: Any, path: str) -> tuple[list[bytes], list[bytes]]:
    response = server.get(path)
    assert response.status == 200, (path, response.status, response.body)
    prepath, postpath = eval(response.body)  # the repr of two lists of bytes
    return prepath, postpath


def raw_response(data: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """Split one raw response into (status line, lower-case headers, rest)."""
    head, _, rest = data.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers: dict[bytes, bytes] = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, rest


# -- traversal ------------------------------------------------------------------------------------


def test_prepath_and_postpath_are_decoded_bytes_segments(plugserve_server: ServerFactory) -> None:
    root = Resource()
    root.putChild(b"a", PathEcho())
    server = plugserve_server(root)
    assert echo(server, "/a/b%20c/d+e") == ([b"a"], [b"b c", b"d+e"])
    assert echo(server, "/a") == ([b"a"], [])
    assert echo(server, "/a/%ZZ") == ([b"a"], [b"%ZZ"])
    # The query string is not part of any segment.
    assert echo(server, "/a/x?y=1") == ([b"a"], [b"x"])


def test_non_ascii_segments_stay_bytes(plugserve_server: ServerFactory) -> None:
    root = Resource()
    root.putChild(b"a", PathEcho())
    server = plugserve_server(root)
    assert echo(server, "/a/%C3%A9t%C3%A9") == ([b"a"], ["été".encode()])


def test_put_child_accepts_bytes_and_str(plugserve_server: ServerFactory) -> None:
    root = Resource()
    root.putChild(b"bytes", Text(b"from bytes"))
    root.putChild("str", Text(b"from str"))
    root.putChild("caf\u00e9", Text(b"from unicode"))
    server = plugserve_server(root)
    assert server.get("/bytes").body == b"from bytes"
    assert server.get("/str").body == b"from str"
    assert server.get("/caf%C3%A9").body == b"from unicode"
    assert root.listStaticNames() == [b"bytes", b"str", "caf\u00e9".encode()]


def test_put_child_rejects_other_types() -> None:
    with pytest.raises(TypeError):
        Resource().putChild(3, Resource())  # type: ignore[arg-type]


def test_put_child_propagates_server_attribute() -> None:
    root = Resource()
    root.server = "the-server"
    child = Resource()
    root.putChild(b"c", child)
    assert child.server == "the-server"


def test_children_are_found_before_get_child(plugserve_server: ServerFactory) -> None:
    root = Dynamic()
    root.putChild(b"static", Text(b"static child"))
    server = plugserve_server(root)
    assert server.get("/static").body == b"static child"
    assert echo(server, "/dynamic/x") == ([b"dynamic"], [b"x"])


def test_unknown_child_is_404(plugserve_server: ServerFactory) -> None:
    root = Resource()
    root.putChild(b"a", Text(b"a"))
    server = plugserve_server(root)
    response = server.get("/nope")
    assert response.status == 404
    assert b"No Such Resource" in response.body
    # A plain Resource root answers "/" with 404: "/" is the child b"" of the root.
    assert server.get("/").status == 404


def test_nested_children_and_leaf_keeps_the_rest(plugserve_server: ServerFactory) -> None:
    root = Resource()
    mid = Resource()
    root.putChild(b"mid", mid)
    mid.putChild(b"leaf", PathEcho())
    server = plugserve_server(root)
    assert echo(server, "/mid/leaf/x/y/z") == ([b"mid", b"leaf"], [b"x", b"y", b"z"])
    assert echo(server, "/mid/leaf/x/") == ([b"mid", b"leaf"], [b"x", b""])


def test_trailing_slash_gives_final_empty_segment(plugserve_server: ServerFactory) -> None:
    root = Resource()
    root.putChild(b"", Text(b"index"))
    dir_ = Resource()
    root.putChild(b"dir", dir_)
    dir_.putChild(b"", Text(b"dir index"))
    dir_.putChild(b"page", Text(b"page"))
    server = plugserve_server(root)
    assert server.get("/").body == b"index"
    assert server.get("/dir/").body == b"dir index"
    assert server.get("/dir/page").body == b"page"
    # Without the slash, the non-leaf directory itself is rendered (no render_GET: 405).
    assert server.get("/dir").status == 405
    dyn = Dynamic()
    root.putChild(b"dyn", dyn)
    assert echo(server, "/dyn/") == ([b"dyn", b""], [])


def test_dot_segments_and_empty_segments_pass_through(plugserve_server: ServerFactory) -> None:
    root = Resource()
    root.putChild(b"a", PathEcho())
    server = plugserve_server(root)
    assert echo(server, "/a/./b/../c") == ([b"a"], [b".", b"b", b"..", b"c"])
    assert echo(server, "/a//b") == ([b"a"], [b"", b"b"])


def test_encoded_slash_stays_inside_one_segment(plugserve_server: ServerFactory) -> None:
    root = Resource()
    seen: list[bytes] = []

    class Recorder(Resource):
        def getChild(self, path: bytes, request: Any) -> Any:
            seen.append(path)
            return PathEcho()

    root.putChild(b"r", Recorder())
    server = plugserve_server(root)
    assert echo(server, "/r/x%2Fy/z") == ([b"r", b"x/y"], [b"z"])
    assert seen == [b"x/y"]


def test_get_child_for_request_walks_postpath() -> None:
    root = Resource()
    mid = Resource()
    leaf = PathEcho()
    root.putChild(b"mid", mid)
    mid.putChild(b"leaf", leaf)
    request = types.SimpleNamespace(
        prepath=[], postpath=[b"mid", b"leaf", b"rest", b""], _child_hook=None
    )
    assert getChildForRequest(root, request) is leaf  # type: ignore[arg-type]
    assert request.prepath == [b"mid", b"leaf"]
    assert request.postpath == [b"rest", b""]


def test_get_child_for_request_in_a_render(plugserve_server: ServerFactory) -> None:
    """A resource can delegate the rest of its path to another tree (as DeferredResource does)."""
    subtree = Resource()
    subtree.putChild(b"x", PathEcho())

    class Delegate(Resource):
        isLeaf = True

        def render(self, request: Any) -> Any:
            return getChildForRequest(subtree, request).render(request)

    root = Resource()
    root.putChild(b"d", Delegate())
    server = plugserve_server(root)
    assert echo(server, "/d/x/tail") == ([b"d", b"x"], [b"tail"])
    assert server.get("/d/missing").status == 404


# -- render dispatch ------------------------------------------------------------------------------


def test_bytes_result_gets_content_length(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Text(b"hello, world"))
    response = server.get("/")
    assert response.status == 200
    assert response.header("Content-Length") == "12"
    assert response.header("Transfer-Encoding") is None
    assert response.header("Content-Type") == "text/html"
    assert response.body == b"hello, world"


def test_bytes_result_replaces_content_length_set_by_resource(
    plugserve_server: ServerFactory,
) -> None:
    class Liar(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.setHeader(b"content-length", b"999")
            return b"four"

    response = plugserve_server(Liar()).get("/")
    assert response.header("Content-Length") == "4"
    assert response.body == b"four"


def test_not_done_yet_then_write_and_finish_later(plugserve_server: ServerFactory) -> None:
    class Later(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            request.write(b"first;")

            def finish() -> None:
                request.write(b"second;")
                request.finish()

            reactor.callLater(0.05, finish)
            return NOT_DONE_YET

    server = plugserve_server(Later())
    response = server.get("/")
    assert response.status == 200
    assert response.body == b"first;second;"
    assert response.header("Content-Length") is None
    assert response.header("Transfer-Encoding") == "chunked"
    assert response.header("Content-Type") == "text/html"


def test_not_done_yet_with_nothing_written_before_finish(plugserve_server: ServerFactory) -> None:
    class Quiet(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            reactor.callLater(0.01, request.finish)
            return NOT_DONE_YET

    response = plugserve_server(Quiet()).get("/")
    assert response.status == 200
    assert response.body == b""


def test_call_later_can_be_cancelled(plugserve_server: ServerFactory) -> None:
    calls: list[str] = []

    class Cancelled(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            call = reactor.callLater(0.01, calls.append, "called")
            assert call.active()
            call.cancel()
            assert not call.active()
            reactor.callLater(0.05, request.finish)
            return NOT_DONE_YET

    assert plugserve_server(Cancelled()).get("/").status == 200
    assert calls == []


def test_async_render_returning_bytes(plugserve_server: ServerFactory) -> None:
    class Async(Resource):
        isLeaf = True

        async def render_GET(self, request: Any) -> bytes:
            await asyncio.sleep(0.01)
            return b"async body"

    response = plugserve_server(Async()).get("/")
    assert response.status == 200
    assert response.body == b"async body"
    assert response.header("Content-Length") == "10"


def test_async_render_writing_then_returning_none(plugserve_server: ServerFactory) -> None:
    class AsyncWriter(Resource):
        isLeaf = True

        async def render_GET(self, request: Any) -> None:
            request.write(b"a")
            await asyncio.sleep(0.01)
            request.write(b"b")

    response = plugserve_server(AsyncWriter()).get("/")
    assert response.status == 200
    assert response.body == b"ab"


def test_async_render_raising_is_500(plugserve_server: ServerFactory) -> None:
    class AsyncBoom(Resource):
        isLeaf = True

        async def render_GET(self, request: Any) -> bytes:
            raise ValueError("async boom")

    response = plugserve_server(AsyncBoom()).get("/")
    assert response.status == 500
    assert response.body == FAILED_PAGE


class ReturnsStr(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> str:
        return "not bytes"


class ReturnsNone(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> None:
        return None


class ReturnsTrue(Resource):
    """True == NOT_DONE_YET (1), but it is not NOT_DONE_YET: a 500, not a hung request."""

    isLeaf = True

    def render_GET(self, request: Any) -> bool:
        return True


class AsyncReturnsTrue(Resource):
    isLeaf = True

    async def render_GET(self, request: Any) -> bool:
        return True


@pytest.mark.parametrize(
    "resource_class", [ReturnsStr, ReturnsNone, ReturnsTrue, AsyncReturnsTrue]
)
def test_non_bytes_result_is_500_naming_the_resource(
    plugserve_server: ServerFactory,
    caplog: pytest.LogCaptureFixture,
    resource_class: type[Resource],
) -> None:
    caplog.set_level(logging.ERROR, logger="plugserve")
    server = plugserve_server(resource_class())
    response = server.get("/")
    assert response.status == 500
    # As in Twisted, the page names the resource and what it returned, never a traceback.
    assert b"Request did not return bytes" in response.body
    assert resource_class.__qualname__.encode() in response.body
    assert b"Traceback" not in response.body
    logged = caplog.text
    assert resource_class.__qualname__ in logged
    assert "did not return bytes" in logged
    # The server is still serving on a new connection.
    assert server.get("/").status == 500


def test_exception_is_500_processing_failed(
    plugserve_server: ServerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="plugserve")

    class Boom(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.setHeader(b"x-should-vanish", b"1")
            request.addCookie(b"c", b"v")
            raise ZeroDivisionError("secret detail")

    response = plugserve_server(Boom()).get("/boom")
    assert response.status == 500
    assert response.body == FAILED_PAGE
    assert response.header("Content-Length") == str(len(FAILED_PAGE))
    assert response.header("X-Should-Vanish") is None
    assert response.header("Set-Cookie") is None
    assert b"secret detail" not in response.body
    assert "ZeroDivisionError" in caplog.text
    assert "/boom" in caplog.text


def test_exception_during_traversal_is_500(plugserve_server: ServerFactory) -> None:
    class BadDir(Resource):
        def getChild(self, path: bytes, request: Any) -> Any:
            raise KeyError(path)

    response = plugserve_server(BadDir()).get("/x")
    assert response.status == 500
    assert response.body == FAILED_PAGE


def test_display_tracebacks_shows_the_traceback(plugserve_server: ServerFactory) -> None:
    class Boom(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            raise ZeroDivisionError("<tag> & detail")

    response = plugserve_server(Boom(), display_tracebacks=True).get("/")
    assert response.status == 500
    assert b"Traceback (most recent call last)" in response.body
    assert b"ZeroDivisionError" in response.body
    assert b"render_GET" in response.body
    # The traceback text is HTML-escaped.
    assert b"&lt;tag&gt; &amp; detail" in response.body
    assert b"<tag>" not in response.body


def test_display_tracebacks_on_the_site_attribute(plugserve_server: ServerFactory) -> None:
    class Boom(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            raise RuntimeError("shown")

    site = Site(Boom())
    site.displayTracebacks = True
    response = plugserve_server(site).get("/")
    assert response.status == 500
    assert b"RuntimeError: shown" in response.body


class GetOnly(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"got it"


class PostOnly(Resource):
    isLeaf = True

    def render_POST(self, request: Any) -> bytes:
        return b"posted"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "POST", "PATCH", "OPTIONS"])
def test_known_method_not_rendered_is_405_with_allow(
    plugserve_server: ServerFactory,
    method: str,
) -> None:
    server = plugserve_server(GetOnly())
    response = server.request(method, "/", body=b"" if method != "DELETE" else None)
    assert response.status == 405
    assert response.header("Allow") == "HEAD, GET"
    assert f"the method &quot;{method}&quot;.".encode() in response.body
    assert b"I only allow the methods HEAD, GET here." in response.body


def test_405_escapes_the_uri(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(GetOnly())
    response = server.request("PUT", "/%3Cscript%3E?<b>=1", body=b"")
    assert response.status == 405
    assert b"<script>" not in response.body
    assert b"<b>" not in response.body


def test_explicit_allowed_methods_are_advertised(plugserve_server: ServerFactory) -> None:
    class Explicit(Resource):
        isLeaf = True
        allowedMethods = (b"GET", b"FROB")

        def render_GET(self, request: Any) -> bytes:
            return b"x"

    response = plugserve_server(Explicit()).request("PUT", "/", body=b"")
    assert response.status == 405
    assert response.header("Allow") == "GET, FROB"


@pytest.mark.parametrize("method", ["FROB", "get"])
def test_unknown_method_is_501(plugserve_server: ServerFactory, method: str) -> None:
    server = plugserve_server(GetOnly())
    response = server.request(method, "/")
    assert response.status == 501
    assert response.header("Allow") is None
    assert f"I don&#x27;t know how to treat a {method} request.".encode() in response.body
    assert b"<title>501 - Huh?</title>" in response.body


def test_head_falls_back_to_get(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(GetOnly())
    get = server.get("/")
    head = server.request("HEAD", "/")
    assert head.status == 200
    assert head.body == b""
    assert head.header("Content-Length") == get.header("Content-Length") == "6"
    assert head.header("Content-Type") == get.header("Content-Type")


def test_head_of_streamed_get_has_no_body_on_keep_alive(plugserve_server: ServerFactory) -> None:
    class Streamed(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> int:
            request.write(b"streamed")
            request.finish()
            return NOT_DONE_YET

    server = plugserve_server(Streamed())
    data = server.raw(
        b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    first, _, second = data.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 ")
    assert second.startswith(b"HTTP/1.1 200 "), data
    assert second.endswith(b"8\r\nstreamed\r\n0\r\n\r\n")


def test_head_on_post_only_resource_is_405(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(PostOnly())
    response = server.request("HEAD", "/")
    assert response.status == 405
    assert response.header("Allow") == "POST"
    get = server.get("/")
    assert get.status == 405
    assert get.header("Allow") == "POST"
    assert server.request("POST", "/", body=b"").body == b"posted"


def test_own_render_head_is_advertised_without_get(plugserve_server: ServerFactory) -> None:
    class HeadAndPost(PostOnly):
        def render_HEAD(self, request: Any) -> bytes:
            return b""

    server = plugserve_server(HeadAndPost())
    assert server.request("HEAD", "/").status == 200
    response = server.request("PUT", "/", body=b"")
    assert response.status == 405
    assert response.header("Allow") == "HEAD, POST"


def test_explicit_render_head_is_used(plugserve_server: ServerFactory) -> None:
    class OwnHead(GetOnly):
        def render_HEAD(self, request: Any) -> bytes:
            request.setHeader(b"x-head", b"yes")
            return b""

    response = plugserve_server(OwnHead()).request("HEAD", "/")
    assert response.status == 200
    assert response.header("X-Head") == "yes"


def test_head_keeps_the_content_length_a_resource_set(plugserve_server: ServerFactory) -> None:
    """A render_HEAD returning b"" may announce the length itself (as static.Data does)."""

    class Sized(GetOnly):
        def render_HEAD(self, request: Any) -> bytes:
            request.setHeader(b"content-length", b"1234")
            return b""

    server = plugserve_server(Sized())
    data = server.raw(
        b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    head, _, rest = data.partition(b"\r\n\r\n")
    assert b"Content-Length: 1234" in head.split(b"\r\n")
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n")
    assert rest.endswith(b"\r\n\r\ngot it")


def test_204_drops_the_body(plugserve_server: ServerFactory) -> None:
    class NoContent(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.setResponseCode(204)
            return b"dropped"

    server = plugserve_server(NoContent())
    data = server.raw(
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    first, _, rest = data.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 204 No Content\r\n")
    assert b"Content-Length" not in first
    assert b"Content-Type" not in first
    assert rest.startswith(b"HTTP/1.1 204 No Content\r\n")
    assert b"dropped" not in data


def test_absolute_form_target_is_traversed_by_its_path(plugserve_server: ServerFactory) -> None:
    """Unlike Twisted (which looks up b"http:"), the authority of an absolute-form target
    replaces Host (RFC 9112 §3.2.2) and its path is traversed."""
    root = Resource()
    root.putChild(b"a", PathEcho())
    server = plugserve_server(root)
    data = server.raw(
        b"GET http://other.example:81/a/x?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    status, _, body = raw_response(data)
    assert status == b"HTTP/1.1 200 OK"
    assert eval(body) == ([b"a"], [b"x"])


def test_render_method_name_is_case_sensitive(plugserve_server: ServerFactory) -> None:
    class Lower(Resource):
        isLeaf = True

        def render_get(self, request: Any) -> bytes:
            return b"lower"

    server = plugserve_server(Lower())
    assert server.request("get", "/").body == b"lower"
    assert server.get("/").status == 405


# -- error pages and redirects --------------------------------------------------------------------


def test_no_resource_page(plugserve_server: ServerFactory) -> None:
    root = Resource()
    root.putChild(b"gone", NoResource())
    root.putChild(b"custom", NoResource("<b>custom</b> message"))
    server = plugserve_server(root)
    response = server.get("/gone/and/deeper")
    assert response.status == 404
    assert response.header("Content-Type") == "text/html; charset=utf-8"
    assert response.body == (
        b"\n<html>\n  <head><title>404 - No Such Resource</title></head>\n  <body>\n"
        b"    <h1>No Such Resource</h1>\n    <p>Sorry. No luck finding that resource.</p>\n"
        b"  </body>\n</html>\n"
    )
    custom = server.get("/custom")
    assert b"&lt;b&gt;custom&lt;/b&gt; message" in custom.body
    # Any method gets the page.
    assert server.request("POST", "/gone", body=b"").status == 404


def test_forbidden_resource_page(plugserve_server: ServerFactory) -> None:
    root = Resource()
    root.putChild(b"secret", ForbiddenResource())
    response = plugserve_server(root).get("/secret/x")
    assert response.status == 403
    assert b"<title>403 - Forbidden Resource</title>" in response.body
    assert b"<p>Sorry, resource is forbidden.</p>" in response.body


def test_error_page_escapes_html(plugserve_server: ServerFactory) -> None:
    page = ErrorPage(418, "<i>brief</i>", 'detail & "<script>alert(1)</script>"')
    response = plugserve_server(page).get("/any/sub/path")
    assert response.status == 418
    body = response.body
    assert b"<script>" not in body
    assert b"<i>" not in body
    assert b"<title>418 - &lt;i&gt;brief&lt;/i&gt;</title>" in body
    assert b"<h1>&lt;i&gt;brief&lt;/i&gt;</h1>" in body
    assert b"detail &amp; &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in body


def test_redirect_to(plugserve_server: ServerFactory) -> None:
    class Redirector(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            return redirectTo(b'/target?a=1&b="<x>"', request)

    response = plugserve_server(Redirector()).get("/")
    assert response.status == 302
    assert response.header("Location") == '/target?a=1&b="<x>"'
    assert response.header("Content-Type") == "text/html; charset=utf-8"
    body = response.body
    assert b'content="0;URL=/target?a=1&amp;b=&quot;&lt;x&gt;&quot;"' in body
    assert b'<a href="/target?a=1&amp;b=&quot;&lt;x&gt;&quot;">click here</a>' in body
    assert b"<x>" not in body


def test_redirect_to_cannot_inject_headers(plugserve_server: ServerFactory) -> None:
    class Injector(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            return redirectTo(b"/x\r\nSet-Cookie: evil=1", request)

    response = plugserve_server(Injector()).get("/")
    assert response.status == 302
    assert response.header("Location") == "/x Set-Cookie: evil=1"
    assert response.header("Set-Cookie") is None


def test_redirect_to_rejects_str() -> None:
    request = types.SimpleNamespace()
    with pytest.raises(TypeError):
        redirectTo("/str", request)  # type: ignore[arg-type]


# -- failures after the head was sent -------------------------------------------------------------


def test_exception_after_head_sent_closes_connection(plugserve_server: ServerFactory) -> None:
    class HalfWay(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.write(b"partial;")
            raise RuntimeError("too late for a 500")

    root = Resource()
    root.putChild(b"half", HalfWay())
    root.putChild(b"ok", Text(b"fine"))
    server = plugserve_server(root)
    # A pipelined second request on the same connection is never answered.
    data = server.raw(
        b"GET /half HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\n",
        timeout=5,
    )
    status, headers, rest = raw_response(data)
    assert status == b"HTTP/1.1 200 OK"
    assert headers[b"transfer-encoding"] == b"chunked"
    assert rest == b"8\r\npartial;\r\n"  # no terminating chunk: the client sees it truncated
    assert b"Processing Failed" not in data
    assert data.count(b"HTTP/1.1") == 1
    # The server keeps serving.
    assert server.get("/ok").body == b"fine"


def test_async_exception_after_head_sent_closes_connection(
    plugserve_server: ServerFactory,
) -> None:
    class AsyncHalfWay(Resource):
        isLeaf = True

        async def render_GET(self, request: Any) -> bytes:
            request.write(b"partial;")
            await asyncio.sleep(0.01)
            raise RuntimeError("too late")

    server = plugserve_server(AsyncHalfWay())
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    status, _, rest = raw_response(b"".join(chunks))
    assert status == b"HTTP/1.1 200 OK"
    assert rest == b"8\r\npartial;\r\n"
