"""A script that cannot make a resource: a 500 naming the file (never its path, never the
traceback unless the site displays tracebacks), a log entry with the file and the line, a server
that keeps serving, and a next request that works once the script is fixed."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from plugserve.testing import TestServer

Write = Callable[[Path, str], Path]
Serve = Callable[..., TestServer]

GOOD = """\
from plugserve.resource import Resource

class Page(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"fixed"

resource = Page()
"""


# (source, words of the page, words of the log entry after the script's full path)
CASES = {
    "raises": ("x = 1\nraise RuntimeError('secret detail')\n",
               "raised an exception at line 2", ", line 2: RuntimeError: secret detail"),
    "syntax-error": ("x = 1\nresource = (\n", "has a syntax error at line 2",
                     ", line 2: SyntaxError"),
    # compile() refuses it with ValueError or SyntaxError (no line), by Python version.
    "nul-byte": ("x = 1\0\n", "The resource script broken.rpy does not compile", ": "),
    "no-resource": ("x = 1\n", "did not set the variable `resource`",
                    ": the script did not set `resource`"),
    "not-a-resource": ("resource = 'secret detail'\n", "set `resource` to a str, not a Resource",
                       ": `resource` is a str, not a Resource"),
    "a-module": ("from plugserve import resource\n", "set `resource` to a module",
                 ": `resource` is a module, not a Resource"),
    "a-class": ("from plugserve.resource import Resource\nclass Page(Resource): pass\n"
                "resource = Page\n",
                "set `resource` to the class Page, not an instance: write `resource = Page()`",
                ": `resource` is the class Page, not an instance of it"),
    "exit": ("import sys\nsys.exit(3)\n", "raised an exception at line 2",
             ", line 2: SystemExit: 3"),
    "missing-module": ("x = 1\nimport no_such_module_beside_rpy\n",
                       "raised an exception at line 2",
                       ", line 2: ModuleNotFoundError: No module named "
                       "'no_such_module_beside_rpy'"),
    "module-raises": ("import raising_module_beside_rpy\n", "raised an exception at line 1",
                      ", line 1: ZeroDivisionError"),
}


@pytest.mark.parametrize("case", CASES)
def test_failing_script(case: str, serve_tree: Serve, www: Path, write: Write,
                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="plugserve")
    source, page_words, log_words = CASES[case]
    (www / "raising_module_beside_rpy.py").write_text("x = 1 / 0\n")
    script = www / "broken.rpy"
    script.write_bytes(source.encode())
    write(www / "good.rpy", GOOD)
    server = serve_tree()
    try:
        response = server.get("/broken.rpy/and/more")
        assert response.status == 500
        assert response.header("Content-Type") == "text/html; charset=utf-8"
        assert b"Resource Script Error" in response.body
        assert b"The resource script broken.rpy " in response.body
        assert page_words.encode() in response.body.replace(b"&#x27;", b"'")
        assert str(www).encode() not in response.body  # the name only, never the path
        assert b"Traceback" not in response.body and b"secret detail" not in response.body
        assert f"resource script {script}{log_words}" in caplog.text
        assert "GET /broken.rpy/and/more" in caplog.text
        if case == "module-raises":  # the traceback shows where, below the script
            assert "raising_module_beside_rpy.py\", line 1" in caplog.text
        # HEAD gets the status without the page; other scripts are served meanwhile.
        assert server.request("HEAD", "/broken.rpy").status == 500
        assert server.get("/good.rpy").body == b"fixed"
        # The next request after a fix works.
        write(script, GOOD)
        assert server.get("/broken.rpy").body == b"fixed"
    finally:
        sys.modules.pop("raising_module_beside_rpy", None)


def test_a_module_added_after_a_failed_import_is_found(serve_tree: Serve, www: Path,
                                                       write: Write) -> None:
    """The import system caches folder listings; a failed import refreshes them, so creating
    the missing module is enough (the script itself is not touched)."""
    write(www / "importer.rpy", "from added_later_beside_rpy import resource\n")
    server = serve_tree()
    try:
        assert server.get("/importer.rpy").status == 500
        (www / "added_later_beside_rpy.py").write_text(GOOD)
        assert server.get("/importer.rpy").body == b"fixed"
    finally:
        sys.modules.pop("added_later_beside_rpy", None)


def test_display_tracebacks_shows_the_traceback(serve_tree: Serve, www: Path,
                                                write: Write) -> None:
    script = write(www / "broken.rpy", "x = 1\nraise RuntimeError('shown to developers')\n")
    response = serve_tree(display_tracebacks=True).get("/broken.rpy")
    assert response.status == 500
    body = response.body.decode()
    assert "Traceback" in body
    assert f"File &quot;{script}&quot;, line 2" in body
    assert "RuntimeError: shown to developers" in body
    assert f"resource script {script}, line 2" in body


def test_an_error_while_rendering_names_the_script_in_the_log(
    serve_tree: Serve, www: Path, write: Write, caplog: pytest.LogCaptureFixture
) -> None:
    """An error in the resource's own render is the Site's usual 500; the script was compiled
    under its path, so the logged traceback points into it."""
    caplog.set_level(logging.ERROR, logger="plugserve")
    script = write(www / "render.rpy", """\
        from plugserve.resource import Resource

        class Page(Resource):
            isLeaf = True

            def render_GET(self, request):
                return 1 / 0

        resource = Page()
    """)
    assert serve_tree().get("/render.rpy").status == 500
    assert f'File "{script}", line 7, in render_GET' in caplog.text
