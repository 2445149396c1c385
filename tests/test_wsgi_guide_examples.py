"""The Twisted Web guide's WSGI examples ("Serving WSGI Applications"), ported to plugserve-wsgi
(examples/guide/wsgi_*.py), served by the real command and checked over HTTP.

- wsgi_helloworld.py is the guide's `helloworld` module, unchanged.  Copied to a project folder
  as helloworld.py, it is served by the guide's command with only the program's name changed:
  `twistd -n web --wsgi=helloworld.application` is `plugserve --wsgi helloworld.application`.
- wsgi_resource_root.py is the guide's myapp.tac: a `ThreadPool`, started, and a
  `WSGIResource(reactor, wsgiThreadPool, application)` as the root of a Site.  Only its imports
  and its service lines changed, and the `reactor.addSystemEventTrigger(...)` line is left out
  (plugserve's reactor has no system events; the file says so).

In-process, each application is served behind `wsgiref.validate.validator`; the command-line
runs serve the files exactly as they are.
"""

from __future__ import annotations

import http.client
import re
import runpy
import shutil
import signal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from wsgiref.validate import validator

import plugserve
import pytest
from plugserve.server import Site
from plugserve.testing import TestServer
from plugserve_wsgi import ThreadPool, WSGIResource

from tests.cli_helpers import LOOPBACK, REPO, running

GUIDE = REPO / "examples" / "guide"
EXAMPLES = ["wsgi_helloworld", "wsgi_resource_root"]


def get(url: str, path: str, method: str = "GET") -> tuple[int, str | None, bytes]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        conn.close()


def test_every_wsgi_example_file_is_tested() -> None:
    assert sorted(p.stem for p in GUIDE.glob("wsgi_*.py")) == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_says_where_it_comes_from(name: str) -> None:
    source = (GUIDE / f"{name}.py").read_text()
    assert source.splitlines()[0].startswith("# Twisted Web guide, "), name
    assert re.search(r"^\s*(from|import)\s+twisted\b", source, re.M) is None


def test_the_guides_application_is_unchanged() -> None:
    """The function body is the guide's, character for character."""
    guide = REPO.parent / "shared" / "reference" / "twisted-web-guide.txt"
    if not guide.exists():
        pytest.skip("the guide's text is not beside this checkout")
    source = (GUIDE / "wsgi_helloworld.py").read_text()
    assert source[source.index("def application"):].strip() in guide.read_text()


# -- `twistd -n web --wsgi=helloworld.application` ---------------------------------------------


def test_wsgi_helloworld_from_the_command_line(tmp_path: Path) -> None:
    shutil.copy(GUIDE / "wsgi_helloworld.py", tmp_path / "helloworld.py")
    with running(["--wsgi", "helloworld.application", "--listen", LOOPBACK],
                 cwd=tmp_path) as server:
        assert get(server.url, "/") == (200, "text/plain", b"Hello World!")
        assert get(server.url, "/any/path?x=1") == (200, "text/plain", b"Hello World!")
        status, _, err = server.stop(signal.SIGINT)
    assert status == 0, err


def test_wsgi_helloworld_where_it_is() -> None:
    with running(["--wsgi", "wsgi_helloworld:application", "--listen", LOOPBACK],
                 cwd=GUIDE) as server:
        assert get(server.url, "/")[2] == b"Hello World!"
        status, _, err = server.stop(signal.SIGINT)
    assert status == 0, err


def test_wsgi_helloworld_validated(plugserve_server: Any) -> None:
    namespace = runpy.run_path(str(GUIDE / "wsgi_helloworld.py"))
    server: TestServer = plugserve_server(WSGIResource(None, None,
                                                       validator(namespace["application"])))
    response = server.get("/")
    assert (response.status, response.body) == (200, b"Hello World!")
    assert response.header("Content-Length") == "12"
    assert server.request("HEAD", "/").body == b""


# -- the .tac file: WSGIResource as the root, with a thread pool --------------------------------


def test_resource_root_config_from_the_command_line() -> None:
    with running(["--config", str(GUIDE / "wsgi_resource_root.py"),
                  "--listen", LOOPBACK]) as server:
        assert get(server.url, "/") == (200, "text/plain", b"Hello World!")
        assert get(server.url, "/deeper/path") == (200, "text/plain", b"Hello World!")
        assert get(server.url, "/", "POST")[2] == b"Hello World!"  # WSGI answers any method
        status, _, err = server.stop(signal.SIGINT)
    assert status == 0, err


def test_resource_root_objects(plugserve_server: Any) -> None:
    namespace = runpy.run_path(str(GUIDE / "wsgi_resource_root.py"), run_name="guide")
    pool = namespace["wsgiThreadPool"]
    try:
        assert isinstance(pool, ThreadPool) and pool.started
        site = namespace["site"]
        assert isinstance(site, Site)
        resource = site.resource
        assert isinstance(resource, WSGIResource)
        assert resource is namespace["wsgiAppAsResource"]
        assert resource.executor is pool
        resource.application = validator(resource.application)
        server: TestServer = plugserve_server(site)
        for path in ("/", "/a/b"):
            response = server.get(path)
            assert (response.status, response.body) == (200, b"Hello World!")
    finally:
        pool.stop()


def test_resource_root_run_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as a script, the file calls plugserve.run(site, "tcp:8080") (replaced here, so
    nothing listens on 8080)."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(plugserve, "run", lambda *args, **kw: calls.append(args))
    namespace = runpy.run_path(str(GUIDE / "wsgi_resource_root.py"), run_name="__main__")
    namespace["wsgiThreadPool"].stop()
    assert len(calls) == 1
    site, *endpoints = calls[0]
    assert site is namespace["site"]
    assert endpoints == ["tcp:8080"] == namespace["listen"]
