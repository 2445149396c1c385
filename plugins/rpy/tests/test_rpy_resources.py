"""ResourceScriptDirectory (every .rpy of a folder, nothing else) and ResourceScriptWrapper (one
script as a whole tree), over real sockets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from plugserve.resource import Resource
from plugserve.testing import TestServer
from plugserve_rpy import ResourceScriptDirectory, ResourceScriptWrapper
from plugserve_static import Registry

Write = Callable[[Path, str], Path]
ServerFactory = Callable[..., TestServer]

ECHO = """\
    from plugserve.resource import Resource

    class Echo(Resource):
        isLeaf = True

        def render_GET(self, request):
            runs = registry.getComponent("runs", 0) + 1
            registry.setComponent("runs", runs)
            return b"%s %s|%s run %d" % (NAME, b"/".join(request.prepath),
                                         b"/".join(request.postpath), runs)

    NAME = __file__.rsplit("/", 1)[-1].encode()
    resource = Echo()
"""


@pytest.fixture
def scripts(www: Path, write: Write) -> Path:
    write(www / "echo.rpy", ECHO)
    write(www / "sub" / "deep.rpy", ECHO)
    write(www / "static.txt", "a static file\n")
    write(www / "notes.py", "print('not a script')\n")
    write(www / ".hidden.rpy", ECHO)
    return www


@pytest.mark.parametrize("kind", [str, bytes])
def test_directory_runs_its_scripts_by_name(
    kind: type, scripts: Path, plugserve_server: ServerFactory
) -> None:
    """A str path works (Twisted needed bytes), and the registry is shared by the folder."""
    registry = Registry()
    root = Resource()
    root.putChild(b"scripts", ResourceScriptDirectory(kind(scripts), registry))
    server = plugserve_server(root)
    assert server.get("/scripts/echo.rpy").body == b"echo.rpy scripts/echo.rpy| run 1"
    assert server.get("/scripts/echo.rpy/a/b").body == b"echo.rpy scripts/echo.rpy|a/b run 2"
    assert server.get("/scripts/sub/deep.rpy").body == b"deep.rpy scripts/sub/deep.rpy| run 3"
    assert registry.getComponent("runs") == 3


@pytest.mark.parametrize(
    "path",
    [
        "/", "/sub", "/sub/", "/static.txt", "/notes.py", "/missing.rpy", "/.hidden.rpy",
        "/../secret.txt", "/%2e%2e/secret.txt", "/sub/..%2f..%2fsecret.txt", "/echo.rpy%00",
        "/%ff.rpy", "/sub%5c..%5cecho.rpy",
    ],
)
def test_directory_serves_nothing_else(path: str, scripts: Path,
                                       plugserve_server: ServerFactory) -> None:
    server = plugserve_server(ResourceScriptDirectory(scripts))
    reply = server.raw(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert reply.split(b" ", 2)[1] in (b"400", b"404"), reply[:200]
    assert b"TOP-SECRET" not in reply and b"static file" not in reply
    assert str(scripts).encode() not in reply


def test_wrapper_is_the_whole_site(www: Path, write: Write,
                                   plugserve_server: ServerFactory) -> None:
    """As a root, the script's resource sees the request exactly as a Site's root would:
    a leaf gets the whole path in postpath, `/` included."""
    script = write(www / "site.rpy", ECHO)
    server = plugserve_server(ResourceScriptWrapper(str(script)))
    assert server.get("/").body == b"site.rpy | run 1"
    assert server.get("/a/b").body == b"site.rpy |a/b run 2"
    write(script, ECHO.replace("run %d", "call %d"))
    assert server.get("/a").body == b"site.rpy |a call 3"


def test_wrapper_traverses_the_script_tree(www: Path, write: Write,
                                           plugserve_server: ServerFactory) -> None:
    script = write(www / "tree.rpy", """\
        from plugserve.resource import Resource

        class Text(Resource):
            isLeaf = True

            def __init__(self, text):
                super().__init__()
                self.text = text

            def render_GET(self, request):
                return self.text

        resource = Resource()
        resource.putChild(b"", Text(b"home"))
        resource.putChild(b"about", Text(b"about"))
    """)
    root = Resource()
    root.putChild(b"app", ResourceScriptWrapper(bytes(script)))
    server = plugserve_server(root)
    assert server.get("/app/").body == b"home"
    assert server.get("/app/about").body == b"about"
    assert server.get("/app/other").status == 404
    # Traversing into the wrapper by hand (as Twisted's wrapper is used) gives the same child.
    wrapper = ResourceScriptWrapper(script)
    assert wrapper.registry is not ResourceScriptWrapper(script).registry
    child = wrapper.getChildWithDefault(b"about", None)  # type: ignore[arg-type]
    assert type(child).__name__ == "Text"


def test_wrapper_reports_a_failing_script(www: Path, write: Write,
                                          plugserve_server: ServerFactory) -> None:
    script = write(www / "site.rpy", "raise KeyError('x')\n")
    server = plugserve_server(ResourceScriptWrapper(script))
    response = server.get("/any/path")
    assert response.status == 500 and b"site.rpy raised an exception at line 1" in response.body
    script.unlink()
    response = server.get("/")
    assert response.status == 500 and b"site.rpy could not be read" in response.body
    write(script, ECHO)
    assert server.get("/").status == 200
