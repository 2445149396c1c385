"""ResourceScript over real sockets and real files: the namespace, a run per request, edits,
the registry, cache()/recache(), traversal into the script's resource, imports beside it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from plugserve.testing import TestServer
from plugserve_rpy import ResourceScript
from plugserve_rpy._code import CodeCache
from plugserve_static import Registry

Write = Callable[[Path, str], Path]
Serve = Callable[..., TestServer]

PAGE = """\
    from plugserve.resource import Resource

    class Page(Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setHeader(b"content-type", b"text/plain")
            return TEXT.encode()

"""


def page(text_expression: str) -> str:
    """A script whose leaf resource answers GET with the string `text_expression`."""
    return PAGE + f"    TEXT = {text_expression}\n    resource = Page()\n"


def test_namespace(serve_tree: Serve, www: Path, write: Write) -> None:
    write(www / "ns.rpy", page(
        '" ".join([__file__, __name__, type(registry).__name__, cache.__name__,'
        ' recache.__name__, str("resource" in dir())])'
    ))
    body = serve_tree().get("/ns.rpy").body.decode()
    assert body == f"{www / 'ns.rpy'} __rpy__ Registry cache recache False"


def test_the_body_runs_on_every_request(serve_tree: Serve, www: Path, write: Write) -> None:
    """Not only render: the top level of the script runs again for each request (a count kept
    in the registry goes up although no render method touches it)."""
    write(www / "runs.rpy", page(
        'str(registry.getComponent("runs", 0) + 1)'
    ) + '    registry.setComponent("runs", int(TEXT))\n')
    server = serve_tree()
    assert [server.get("/runs.rpy").body for _ in range(3)] == [b"1", b"2", b"3"]


def test_an_edit_changes_the_next_response(serve_tree: Serve, www: Path, write: Write) -> None:
    script = write(www / "edit.rpy", page('"before"'))
    server = serve_tree()
    conn = server.connection()
    assert server.request("GET", "/edit.rpy", conn=conn).body == b"before"
    write(script, page('"after!"'))  # same size: only the mtime tells
    assert server.request("GET", "/edit.rpy", conn=conn).body == b"after!"
    conn.close()


def test_compiling_is_cached_by_the_file_identity(tmp_path: Path, write: Write) -> None:
    script = write(tmp_path / "c.rpy", "resource = 1\n")
    cache = CodeCache()
    first = cache.load(str(script))
    assert cache.load(str(script)) is first  # unchanged: not parsed again
    st = script.stat()
    os.utime(script, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # touched: compiled again
    second = cache.load(str(script))
    assert second is not first
    write(script, "resource = 2\n")  # same size, new content
    assert 2 in cache.load(str(script)).co_consts
    os.replace(write(tmp_path / "new.rpy", "resource = 3\n"), script)  # an editor's rename
    assert 3 in cache.load(str(script)).co_consts


def test_the_cache_keeps_the_most_recent_scripts(tmp_path: Path, write: Write) -> None:
    cache = CodeCache(size=2)
    paths = [str(write(tmp_path / f"s{i}.rpy", f"x = {i}\n")) for i in range(3)]
    codes = [cache.load(p) for p in paths]
    assert cache.load(paths[2]) is codes[2]
    assert cache.load(paths[0]) is not codes[0]  # evicted, compiled again


def test_registry_state_outlives_runs_and_edits(serve_tree: Serve, www: Path,
                                                write: Write) -> None:
    counter = """\
        from plugserve.resource import Resource

        class Counter:
            value = 0

        counter = registry.getComponent("counter")
        if counter is None:
            counter = Counter()
            registry.setComponent("counter", counter)

        class Page(Resource):
            isLeaf = True

            def render_GET(self, request):
                counter.value += 1
                return (LABEL + " %d" % counter.value).encode()

        LABEL = "visit"
        resource = Page()
    """
    script = write(www / "counter.rpy", counter)
    server = serve_tree()
    assert [server.get("/counter.rpy").body for _ in range(3)] == [b"visit 1", b"visit 2",
                                                                  b"visit 3"]
    write(script, counter.replace('"visit"', '"visitor number"'))
    assert server.get("/counter.rpy").body == b"visitor number 4"


def test_cache_and_recache(serve_tree: Serve, www: Path, write: Write) -> None:
    """cache() returns the resource kept for this path and skips the rest of the script;
    recache() replaces what is kept (Twisted's CacheScanner)."""
    template = """\
        from plugserve.resource import Resource

        registry.setComponent("runs", registry.getComponent("runs", 0) + 1)
        CALL()
        registry.setComponent("builds", registry.getComponent("builds", 0) + 1)

        class Page(Resource):
            isLeaf = True

            def render_GET(self, request, build=registry.getComponent("builds")):
                runs = registry.getComponent("runs")
                return b"%s build %d, run %d" % (NAME, build, runs)

        resource = Page()
    """
    script = www / "cached.rpy"
    write(script, template.replace("CALL", "cache").replace("NAME", 'b"cached"'))
    server = serve_tree()
    assert server.get("/cached.rpy").body == b"cached build 1, run 1"
    assert server.get("/cached.rpy").body == b"cached build 1, run 2"
    # An edit does not drop what cache() kept: that is what recache() is for.
    write(script, template.replace("CALL", "cache").replace("NAME", 'b"edited"'))
    assert server.get("/cached.rpy").body == b"cached build 1, run 3"
    write(script, template.replace("CALL", "recache").replace("NAME", 'b"recached"'))
    assert server.get("/cached.rpy").body == b"recached build 2, run 4"
    assert server.get("/cached.rpy").body == b"recached build 3, run 5"
    write(script, template.replace("CALL", "cache").replace("NAME", 'b"again"'))
    assert server.get("/cached.rpy").body == b"recached build 3, run 6"
    # Without cache(), nothing kept is used.
    write(script, template.replace("CALL()", "").replace("NAME", 'b"plain"'))
    assert server.get("/cached.rpy").body == b"plain build 4, run 7"


def test_traversal_continues_into_the_resource(serve_tree: Serve, www: Path,
                                               write: Write) -> None:
    write(www / "tree.rpy", """\
        from plugserve.resource import Resource

        class Leaf(Resource):
            isLeaf = True

            def render_GET(self, request):
                return b"/".join([b"leaf", *request.prepath]) + b" rest " + b"/".join(
                    request.postpath)

        class Top(Resource):
            def render_GET(self, request):
                return b"top"

        resource = Top()
        resource.putChild(b"leaf", Leaf())
    """)
    server = serve_tree()
    assert server.get("/tree.rpy").body == b"top"
    assert server.get("/tree.rpy/leaf").body == b"leaf/tree.rpy/leaf rest "
    assert server.get("/tree.rpy/leaf/a/b").body == b"leaf/tree.rpy/leaf rest a/b"
    assert server.get("/tree.rpy/other").status == 404
    assert server.get("/tree.rpy/").status == 404  # no child b"", as in Twisted


def test_async_render_and_resource_subclasses(serve_tree: Serve, www: Path,
                                              write: Write) -> None:
    write(www / "async.rpy", """\
        import asyncio

        from plugserve.resource import Resource

        class Base(Resource):
            isLeaf = True
            greeting = b"hello"

        class Page(Base):
            async def render_GET(self, request):
                await asyncio.sleep(0)
                return self.greeting + b" from " + type(self).__module__.encode()

        resource = Page()
    """)
    server = serve_tree()
    assert server.get("/async.rpy").body == b"hello from __rpy__"
    assert server.request("HEAD", "/async.rpy").body == b""
    post = server.request("POST", "/async.rpy")
    assert post.status == 405 and post.header("Allow") == "HEAD, GET"


def test_modules_beside_the_script_are_importable(serve_tree: Serve, www: Path,
                                                  write: Write) -> None:
    write(www / "lib" / "helper_rpy_beside.py", "WORD = b'helped'\n")
    write(www / "lib" / "uses.rpy", page('__import__("helper_rpy_beside").WORD.decode()'))
    path_before = list(sys.path)
    try:
        server = serve_tree()
        assert server.get("/lib/uses.rpy").body == b"helped"
        # Only while the script runs: sys.path is left as it was.
        assert sys.path == path_before
    finally:
        sys.modules.pop("helper_rpy_beside", None)


def test_called_directly_with_a_bytes_or_relative_path(
    tmp_path: Path, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`__file__` is always the full path, whatever form of path the caller gave."""
    script = write(tmp_path / "direct.rpy", """\
        from plugserve.resource import Resource

        resource = Resource()
        resource.file = __file__
    """)
    registry = Registry()
    monkeypatch.chdir(tmp_path)
    for path in (bytes(script), str(script), "direct.rpy", b"direct.rpy"):
        assert ResourceScript(path, registry).file == str(script)  # type: ignore[attr-defined]
