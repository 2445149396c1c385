"""The Twisted Web guide's resource-script examples, ported to plugserve-rpy
(examples/guide/rpy_*/), served by the real command and checked over HTTP.

Each file differs from the guide only in its imports (and, for the two `File` configurations, in
the run lines and the HTDOCS variable, as for examples/guide/static_*.py).  The trees are
copied to a temporary folder first, so that the tests can edit them:

- rpy_scripts/: ".rpy scripts" (hello.rpy; reloading.rpy with myresource.py) and "Resource
  Scripts" (great.rpy, the simple MyGreatResource; counter.rpy, the visitor counter kept in the
  registry, with SillyWeb.py), plus an index.rpy; served with `plugserve --path`, which runs
  .rpy files "by default", as the guide says of `twistd web --path`.
- static_index_processors.py and static_ignore_ext.py: "Modifying File Resources",
  `indexNames=['index.rpy']` and `ignoreExt(".rpy")` with `script.ResourceScript` as the
  processor (shared with test_static_guide_examples.py); served here with `plugserve --config`
  over the guide's scripts.
- rpy_vhost/: "Using VHostMonster", vhost.rpy (needs plugserve-vhost: skipped without it), and
  two scripts in its style that only build a resource from a plugin (plugserve_static) or from
  the core (plugserve.util).

The guide's Perl-serving .rpy (twcgi, plugserve-cgi) is tested in test_cgi_guide_examples.py,
and the "baz" virtual host with resource scripts in test_vhost_guide_examples.py.
"""

from __future__ import annotations

import http.client
import os
import re
import runpy
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import plugserve
import pytest
from plugserve.server import Site
from plugserve_rpy import ResourceScript
from plugserve_static import File

from tests.cli_helpers import LOOPBACK, REPO, Running, running

GUIDE = REPO / "examples" / "guide"
FILES = {
    "rpy_scripts": ["SillyWeb.py", "counter.rpy", "great.rpy", "hello.rpy", "index.rpy",
                    "myresource.py", "reloading.rpy"],
    "rpy_vhost": ["docs.rpy", "moved.rpy", "vhost.rpy"],
}


def test_every_rpy_example_file_is_tested() -> None:
    found = {d.name: sorted(p.name for p in d.iterdir() if p.name != "__pycache__")
             for d in GUIDE.glob("rpy_*")}
    assert found == FILES


@pytest.mark.parametrize("path", [f"{d}/{n}" for d, names in FILES.items() for n in names])
def test_example_says_where_it_comes_from(path: str) -> None:
    source = (GUIDE / path).read_text()
    assert source.startswith("# Twisted Web guide, "), path
    assert re.search(r"^\s*(from|import)\s+twisted\b", source, re.M) is None


# -- helpers --------------------------------------------------------------------------------------


class Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def get(url: str, path: str) -> Response:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        conn.close()


@contextmanager
def serve(*args: str, env: dict[str, str] | None = None) -> Iterator[Running]:
    """`plugserve ARGS --listen LOOPBACK`, stopped with SIGINT (exit status 0) at the end."""
    with running([*args, "--listen", LOOPBACK], env=env) as server:
        yield server
        status, _, err = server.stop(signal.SIGINT)
        assert status == 0, err


def edit(path: Path, old: str, new: str) -> None:
    """Change `old` to `new` in a file; its mtime moves on by 2 s (seen at any clock
    granularity, and by a .pyc check that compares whole seconds)."""
    before = path.stat().st_mtime_ns
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    later = before + 2_000_000_000
    os.utime(path, ns=(later, later))


def copy(name: str, tmp_path: Path) -> Path:
    """A copy of examples/guide/NAME to edit and serve."""
    return Path(shutil.copytree(GUIDE / name, tmp_path / name,
                                ignore=shutil.ignore_patterns("__pycache__")))


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    return copy("rpy_scripts", tmp_path)


# -- .rpy scripts and Resource Scripts ------------------------------------------------------------


def test_simple_scripts_and_edits(scripts: Path) -> None:
    with serve("--path", str(scripts)) as server:
        assert get(server.url, "/hello.rpy").body == b"<html>Hello, world!</html>"
        great = get(server.url, "/great.rpy")
        assert (great.status, great.body) == (200, b"<html>foo</html>")
        # "viewing the results of changes to your class visible simply by refreshing the page"
        edit(scripts / "hello.rpy", "Hello, world!", "Hello, edited world!")
        assert get(server.url, "/hello.rpy").body == b"<html>Hello, edited world!</html>"
        edit(scripts / "great.rpy", "<html>foo</html>", "<html>bar</html>")
        assert get(server.url, "/great.rpy").body == b"<html>bar</html>"


def test_reloading_a_module(scripts: Path) -> None:
    with serve("--path", str(scripts)) as server:
        assert get(server.url, "/reloading.rpy").body == b"<html>Hello from myresource.py</html>"
        edit(scripts / "myresource.py", "Hello from", "Reloaded")
        assert get(server.url, "/reloading.rpy").body == b"<html>Reloaded myresource.py</html>"


def test_visitor_counter_in_the_registry(scripts: Path) -> None:
    with serve("--path", str(scripts)) as server:
        bodies = [get(server.url, "/counter.rpy").body for _ in range(3)]
        assert bodies == [b"you are visitor 1", b"you are visitor 2", b"you are visitor 3"]
        # The count is in the registry, not in the script: it survives an edit.
        edit(scripts / "counter.rpy", "you are visitor {}", "visitor number {}")
        assert get(server.url, "/counter.rpy").body == b"visitor number 4"


def test_index_rpy_is_an_index_by_default(scripts: Path) -> None:
    with serve("--path", str(scripts)) as server:
        home = get(server.url, "/")
        assert home.status == 200
        assert b"<h1>Resource scripts</h1>" in home.body
        assert b'<a href="counter.rpy">' in home.body


# -- Modifying File Resources ---------------------------------------------------------------------


def test_index_names_and_processors(scripts: Path) -> None:
    (scripts / "index.html").write_text("<h1>not the index</h1>\n")
    (scripts / "other").mkdir()
    (scripts / "other" / "index.html").write_text("<h1>other</h1>\n")
    shutil.copy(scripts / "index.rpy", scripts / "other" / "index.rpy")
    (scripts / "plain").mkdir()
    (scripts / "plain" / "index.html").write_text("<h1>plain</h1>\n")
    config = str(GUIDE / "static_index_processors.py")
    with serve("--config", config, env={"HTDOCS": str(scripts)}) as server:
        assert b"<h1>Resource scripts</h1>" in get(server.url, "/").body
        assert b"<h1>Resource scripts</h1>" in get(server.url, "/other/").body
        plain = get(server.url, "/plain/")  # only index.rpy is an index name now
        assert plain.status == 200 and b"Directory listing for /plain/" in plain.body
        assert get(server.url, "/counter.rpy").body == b"you are visitor 1"
        assert get(server.url, "/index.html").body == b"<h1>not the index</h1>\n"


def test_ignore_ext(scripts: Path) -> None:
    (scripts / "great").write_text("the file called great\n")
    config = str(GUIDE / "static_ignore_ext.py")
    with serve("--config", config, env={"HTDOCS": str(scripts)}) as server:
        assert get(server.url, "/counter").body == b"you are visitor 1"
        assert get(server.url, "/counter.rpy").body == b"you are visitor 2"
        assert get(server.url, "/hello").body == b"<html>Hello, world!</html>"
        # Only when no file by that name exists.
        assert get(server.url, "/great").body == b"the file called great\n"
        assert get(server.url, "/nothing").status == 404
        assert get(server.url, "/SillyWeb").status == 404  # .py is not an ignored extension


@pytest.mark.parametrize("name", ["index_processors", "ignore_ext"])
def test_config_run_lines(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as a script, each configuration calls plugserve.run(Site(root), "tcp:80") with the
    guide's root and processor (plugserve.run is replaced, so nothing listens on port 80)."""
    monkeypatch.delenv("HTDOCS", raising=False)
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(plugserve, "run", lambda *args, **kw: calls.append(args))
    namespace = runpy.run_path(str(GUIDE / f"static_{name}.py"), run_name="__main__")
    site, *endpoints = calls[0]
    assert isinstance(site, Site) and site.resource is namespace["root"]
    assert isinstance(site.resource, File) and site.resource.path == "/var/www/htdocs"
    assert site.resource.processors == {".rpy": ResourceScript}
    assert endpoints == ["tcp:80"] == namespace["listen"]


# -- Using VHostMonster ---------------------------------------------------------------------------


@pytest.fixture
def vhost_tree(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    tree = copy("rpy_vhost", tmp_path)
    docs = tmp_path / "doc"
    (docs / "pkg").mkdir(parents=True)
    (docs / "pkg" / "README").write_text("package documentation\n")
    return tree, {"DOCDIR": str(docs)}


def test_scripts_that_import_a_plugin_or_the_core(
    vhost_tree: tuple[Path, dict[str, str]],
) -> None:
    """In the style of vhost.rpy: the script only builds a resource from a library module, and
    traversal continues into it for the rest of the path."""
    tree, env = vhost_tree
    with serve("--path", str(tree), env=env) as server:
        readme = get(server.url, "/docs.rpy/pkg/README")
        assert (readme.status, readme.body) == (200, b"package documentation\n")
        listing = get(server.url, "/docs.rpy/pkg/")
        assert listing.status == 200 and b'href="README"' in listing.body
        assert get(server.url, "/docs.rpy/missing").status == 404
        for path in ("/moved.rpy", "/moved.rpy/any/path"):
            moved = get(server.url, path)
            assert moved.status == 302 and moved.headers["Location"] == "/docs.rpy/"


def test_vhost_rpy(vhost_tree: tuple[Path, dict[str, str]]) -> None:
    """The guide's vhost.rpy: /vhost.rpy/http/example.com:80/PATH is the site's PATH."""
    pytest.importorskip("plugserve_vhost", reason="vhost.rpy needs plugserve-vhost")
    tree, env = vhost_tree
    with serve("--path", str(tree), env=env) as server:
        readme = get(server.url, "/vhost.rpy/http/example.com:80/docs.rpy/pkg/README")
        assert (readme.status, readme.body) == (200, b"package documentation\n")
