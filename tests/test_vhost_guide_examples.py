"""The Twisted Web guide's virtual-host examples (examples/guide/vhost_*.py), ported to
plugserve-vhost with only their imports and run lines changed, served and checked over HTTP.

The reverse-proxy example's upstream is the host "internal", which this machine cannot
resolve: the test keeps the example's resource tree and path and points the proxy at a real
internal server on 127.0.0.1 whose vhost.rpy is the guide's (examples/guide/rpy_vhost).  In
Twisted every page of that example is a 404 (the path gains a second "/")."""

from __future__ import annotations

import re
import runpy
import shutil
from pathlib import Path
from typing import Any

import pytest
from plugserve_proxy import ReverseProxyResource
from plugserve_rpy import ResourceScript
from plugserve_static import File
from plugserve_vhost import NameVirtualHost

from tests.cli_helpers import LOOPBACK, REPO, running
from tests.test_cli import fetch

GUIDE = REPO / "examples" / "guide"
EXAMPLES = ["vhost_folders", "vhost_names", "vhost_reverse_proxy"]

WHERE_RPY = (
    "from plugserve.resource import Resource\n"
    "class Where(Resource):\n"
    "    isLeaf = True\n"
    "    def render_GET(self, request):\n"
    "        return b' '.join([request.prePathURL(), request.uri])\n"
    "resource = Where()\n"
)


def test_every_vhost_example_file_is_tested() -> None:
    assert sorted(p.stem for p in GUIDE.glob("vhost_*.py")) == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_says_where_it_comes_from(name: str) -> None:
    source = (GUIDE / f"{name}.py").read_text()
    assert source.splitlines()[0].startswith("# Twisted Web guide, "), name
    assert re.search(r"^\s*(from|import)\s+twisted\b", source, re.M) is None


@pytest.fixture
def www(tmp_path: Path) -> Path:
    """The guide's /var/www: htdocs, foo, bar and baz (with a Resource Script)."""
    for name in ("htdocs", "foo", "bar", "baz"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_text(f"{name} site\n")
    (tmp_path / "baz" / "hello.rpy").write_text(
        "from plugserve.resource import Resource\n"
        "class Hello(Resource):\n"
        "    isLeaf = True\n"
        "    def render_GET(self, request):\n"
        "        return b'baz script'\n"
        "resource = Hello()\n")
    return tmp_path


HOSTS = [("foo.com", "/", b"foo site\n"), ("FOO.com:8080", "/", b"foo site\n"),
         ("bar.com.", "/", b"bar site\n"), ("baz", "/hello", b"baz script"),
         ("baz", "/hello.rpy", b"baz script"), ("other.example", "/", b"htdocs site\n")]


@pytest.mark.parametrize(("host", "path", "body"), HOSTS)
def test_names_example(plugserve_server: Any, www: Path, monkeypatch: pytest.MonkeyPatch,
                       host: str, path: str, body: bytes) -> None:
    monkeypatch.setenv("WWW", str(www))
    module = runpy.run_path(str(GUIDE / "vhost_names.py"))
    assert module["listen"] == ["tcp:80"] and isinstance(module["root"], NameVirtualHost)
    server = plugserve_server(module["site"])
    response = server.get(path, headers={"Host": host})
    assert (response.status, response.body) == (200, body)


def test_names_example_runs_with_config(www: Path) -> None:
    """`plugserve --config` reads the file's `site`; --listen replaces its port 80."""
    config = str(GUIDE / "vhost_names.py")
    with running(["--config", config, "--listen", LOOPBACK], env={"WWW": str(www)}) as server:
        assert fetch(server.url + "/")[2] == b"htdocs site\n"


def test_folders_example(plugserve_server: Any, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    vhosts, htdocs = tmp_path / "vhosts", tmp_path / "htdocs"
    for folder in (vhosts / "a.example", vhosts / "b.example", htdocs):
        folder.mkdir(parents=True)
        (folder / "index.html").write_text(f"{folder.name}\n")
    monkeypatch.setenv("VHOSTS", str(vhosts))
    monkeypatch.setenv("HTDOCS", str(htdocs))
    server = plugserve_server(runpy.run_path(str(GUIDE / "vhost_folders.py"))["site"])
    for host, body in (("a.example", b"a.example\n"), ("b.example", b"b.example\n"),
                       ("c.example", b"htdocs\n")):
        response = server.get("/", headers={"Host": host})
        assert (response.status, response.body) == (200, body), host


def test_reverse_proxy_example_end_to_end(plugserve_server: Any, tmp_path: Path) -> None:
    """Front NameVirtualHost -> ReverseProxyResource -> internal server's vhost.rpy: each page
    arrives at the right path, and URLs the internal site makes name example.com."""
    internal = tmp_path / "internal"
    shutil.copytree(GUIDE / "rpy_vhost", internal)
    (internal / "where.rpy").write_text(WHERE_RPY)
    (internal / "dir").mkdir()
    (internal / "dir" / "page.txt").write_text("a page\n")
    tree = File(str(internal))
    tree.processors = {".rpy": ResourceScript}
    backend = plugserve_server(tree)

    module = runpy.run_path(str(GUIDE / "vhost_reverse_proxy.py"))
    guide_proxy = module["reverseProxy"]
    assert (guide_proxy.host, guide_proxy.port) == ("internal", 8538)
    assert guide_proxy.path == b"/vhost.rpy/http/example.com/"
    root = module["root"]
    root.addHost(b"example.com", ReverseProxyResource("127.0.0.1", backend.port,
                                                      guide_proxy.path))
    front = plugserve_server(module["site"])

    host = {"Host": "example.com"}
    page = front.get("/dir/page.txt", headers=host)
    assert (page.status, page.body) == (200, b"a page\n")
    where = front.get("/where.rpy?x=1", headers=host)
    assert (where.status, where.body) == (200, b"http://example.com/where.rpy /where.rpy?x=1")
    slash = front.get("/dir", headers=host)
    assert slash.status in (301, 302)
    assert slash.headers["Location"] in ("/dir/", "http://example.com/dir/")
    assert front.get("/missing", headers=host).status == 404
    assert front.get("/", headers={"Host": "elsewhere.example"}).status == 404
