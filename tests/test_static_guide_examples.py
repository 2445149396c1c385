"""The Twisted Web guide's static-file examples, ported to plugserve (examples/guide/static_*.py),
served by the real command and checked over HTTP.

Each file differs from the guide only in its imports, its run lines (`listen` and a guarded
`plugserve.run(...)` instead of the application/strports/endpoint/reactor lines), and its paths,
which are the guide's unless an environment variable (HTDOCS, DOCDIR, FONTS, WEB_PORTS) names
another: here they name temporary trees.  Each example is served with
`plugserve --config FILE` in a subprocess (`--listen` on the loopback, except for the ports-file
example, whose ports are the point), and its run line is checked too.

The guide's `twistd -n web --path DIR` ("Creating a Twisted Web server which serves a
directory") is `plugserve --path DIR`, checked at the end.

The cgi-bin child (twcgi, plugserve-cgi) is tested in test_cgi_guide_examples.py, and the
virtual-host examples (plugserve-vhost) in test_vhost_guide_examples.py.  `script` is
plugserve-rpy's `plugserve_rpy`.
"""

from __future__ import annotations

import http.client
import os
import re
import runpy
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import plugserve
import pytest
from plugserve.server import Site
from plugserve_static import File

from tests.cli_helpers import LOOPBACK, REPO, Running, running

GUIDE = REPO / "examples" / "guide"
EXAMPLES = [
    "static_advanced", "static_children", "static_index_processors", "static_ignore_ext",
    "static_woff2", "static_ports_file",
]

RPY = '''\
from plugserve.resource import Resource


class Page(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain")
        return b"%s ran, registry %s" % (
            __file__.rsplit("/", 1)[-1].encode(), type(registry).__name__.encode())


resource = Page()
'''


# -- every example ---------------------------------------------------------------------------


def test_every_static_example_file_is_tested() -> None:
    assert sorted(p.stem for p in GUIDE.glob("static_*.py")) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_says_where_it_comes_from(name: str) -> None:
    source = (GUIDE / f"{name}.py").read_text()
    assert source.splitlines()[0].startswith("# Twisted Web guide, "), name
    assert re.search(r"^\s*(from|import)\s+twisted\b", source, re.M) is None
    # The guide's paths stay visible, as the defaults of their environment variables.
    assert re.search(r'os\.environ\.get\("[A-Z_]+", "/(var|srv|etc|usr)/', source), name


class Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def get(url: str, path: str, method: str = "GET") -> Response:
    parts = urlsplit(url)
    host = "127.0.0.1" if parts.hostname in ("0.0.0.0", "::") else parts.hostname
    assert host is not None and parts.port is not None
    conn = http.client.HTTPConnection(host, parts.port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        conn.close()


@contextmanager
def serve(name: str, env: dict[str, str], *, listen: bool = True,
          count: int = 1) -> Iterator[Running]:
    """`plugserve --config examples/guide/NAME.py [--listen LOOPBACK]` with `env` added."""
    args = ["--config", str(GUIDE / f"{name}.py")]
    if listen:
        args += ["--listen", LOOPBACK]
    with running(args, env=env, count=count) as server:
        yield server
        status, _, err = server.stop(signal.SIGINT)
        assert status == 0, err


@pytest.fixture
def htdocs(tmp_path: Path) -> Path:
    """A small /var/www/htdocs."""
    root = tmp_path / "htdocs"
    (root / "sub").mkdir(parents=True)
    (root / "hello.txt").write_text("hello from htdocs\n")
    (root / "sub" / "page.html").write_text("<p>a page</p>\n")
    return root


# -- Advanced Configuration -----------------------------------------------------------------------


def test_advanced_configuration_serves_the_directory(htdocs: Path) -> None:
    (htdocs / "index.html").write_text("<h1>home</h1>\n")
    with serve("static_advanced", {"HTDOCS": str(htdocs)}) as server:
        home = get(server.url, "/")
        assert (home.status, home.body) == (200, b"<h1>home</h1>\n")
        assert home.header("Content-Type") == "text/html"
        text = get(server.url, "/hello.txt")
        assert (text.status, text.body) == (200, b"hello from htdocs\n")
        assert text.header("Content-Type") == "text/plain"
        assert get(server.url, "/sub").status == 302  # to /sub/
        listing = get(server.url, "/sub/")
        assert listing.status == 200
        assert b"Directory listing for /sub/" in listing.body
        assert b'href="page.html"' in listing.body
        assert get(server.url, "/missing").status == 404


# -- Adding Children ------------------------------------------------------------------------------


def test_adding_children_doc(htdocs: Path, tmp_path: Path) -> None:
    doc = tmp_path / "doc"
    (doc / "pkg").mkdir(parents=True)
    (doc / "pkg" / "README.txt").write_text("package documentation\n")
    (htdocs / "doc").mkdir()  # putChild overrides the filesystem
    (htdocs / "doc" / "shadowed.txt").write_text("never served\n")
    with serve("static_children", {"HTDOCS": str(htdocs), "DOCDIR": str(doc)}) as server:
        assert get(server.url, "/hello.txt").body == b"hello from htdocs\n"
        readme = get(server.url, "/doc/pkg/README.txt")
        assert (readme.status, readme.body) == (200, b"package documentation\n")
        listing = get(server.url, "/doc/")
        assert listing.status == 200
        assert b'href="pkg/"' in listing.body
        assert b"shadowed" not in listing.body
        assert get(server.url, "/doc/shadowed.txt").status == 404
        assert get(server.url, "/doc").status == 302


# -- Modifying File Resources ---------------------------------------------------------------------


def test_index_names_and_processors(htdocs: Path) -> None:
    (htdocs / "index.html").write_text("<h1>not the index any more</h1>\n")
    (htdocs / "index.rpy").write_text(RPY)
    (htdocs / "sub" / "index.rpy").write_text(RPY)
    (htdocs / "other").mkdir()
    (htdocs / "other" / "index.html").write_text("<h1>other</h1>\n")
    (htdocs / "report.rpy").write_text(RPY)
    with serve("static_index_processors", {"HTDOCS": str(htdocs)}) as server:
        # indexNames is ['index.rpy'] only: the directory is rendered by the script, not
        # index.html, and the processor runs it rather than sending its source.
        home = get(server.url, "/")
        assert (home.status, home.body) == (200, b"index.rpy ran, registry Registry")
        assert home.header("Content-Type") == "text/plain"
        # Subdirectories inherit indexNames and processors.
        assert get(server.url, "/sub/").body == b"index.rpy ran, registry Registry"
        # ... so a directory with only index.html is listed.
        other = get(server.url, "/other/")
        assert other.status == 200
        assert b"Directory listing for /other/" in other.body
        # Any .rpy is a Resource Script.
        assert get(server.url, "/report.rpy").body == b"report.rpy ran, registry Registry"
        assert get(server.url, "/index.html").body == b"<h1>not the index any more</h1>\n"


def test_ignore_ext(htdocs: Path) -> None:
    (htdocs / "foo.rpy").write_text(RPY)
    (htdocs / "sub" / "bar.rpy").write_text(RPY)
    (htdocs / "both").write_text("the file called both\n")
    (htdocs / "both.rpy").write_text(RPY)
    with serve("static_ignore_ext", {"HTDOCS": str(htdocs)}) as server:
        foo = get(server.url, "/foo")
        assert (foo.status, foo.body) == (200, b"foo.rpy ran, registry Registry")
        assert get(server.url, "/foo.rpy").body == b"foo.rpy ran, registry Registry"
        assert get(server.url, "/sub/bar").body == b"bar.rpy ran, registry Registry"
        # Only when no file by that name exists.
        assert get(server.url, "/both").body == b"the file called both\n"
        assert get(server.url, "/nothing").status == 404
        # Other extensions are not ignored.
        assert get(server.url, "/hello").status == 404


def test_woff2_content_type(tmp_path: Path) -> None:
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    data = bytes(range(256)) * 4
    (fonts / "Inter.woff2").write_bytes(data)
    (fonts / "Inter.woff").write_bytes(data)
    with serve("static_woff2", {"FONTS": str(fonts)}) as server:
        font = get(server.url, "/Inter.woff2")
        assert (font.status, font.body) == (200, data)
        assert font.header("Content-Type") == "application/font-woff2"
        assert font.header("X-Content-Type-Options") is None  # a known type
        assert get(server.url, "/Inter.woff2", "HEAD").header("Content-Type") == \
            "application/font-woff2"
        # The other types are untouched.
        assert get(server.url, "/Inter.woff").header("Content-Type") == "font/woff"


# -- Advanced Techniques: ports from a file -------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """Port numbers that were free a moment ago (bound on every interface, as tcp:N is)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("", 0))
            ports.append(sock.getsockname()[1])
        return ports


def test_ports_from_a_file(htdocs: Path, tmp_path: Path) -> None:
    ports = free_ports(3)
    ports_file = tmp_path / "ports"
    ports_file.write_text(f"{ports[0]} {ports[1]}\n{ports[2]}\n")
    env = {"HTDOCS": str(htdocs), "WEB_PORTS": str(ports_file)}
    with serve("static_ports_file", env, listen=False, count=3) as server:
        assert sorted(urlsplit(url).port or 0 for url in server.urls) == sorted(ports)
        for port in ports:
            response = get(f"http://127.0.0.1:{port}", "/hello.txt")
            assert (response.status, response.body) == (200, b"hello from htdocs\n"), port


def test_ports_file_example_runs_as_a_script(htdocs: Path, tmp_path: Path) -> None:
    """`python static_ports_file.py` listens on the file's ports (the only example whose run line
    can be run here: the others listen on port 80, as the guide does)."""
    ports = free_ports(2)
    (tmp_path / "ports").write_text(f"{ports[0]}\n{ports[1]}\n")
    env = {**os.environ, "HTDOCS": str(htdocs), "WEB_PORTS": str(tmp_path / "ports")}
    proc = subprocess.Popen([sys.executable, str(GUIDE / "static_ports_file.py")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert all(line.startswith("plugserve: listening on http://") for line in lines), lines
        for port in ports:
            assert get(f"http://127.0.0.1:{port}", "/hello.txt").body == b"hello from htdocs\n"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err


# -- the run lines --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_run_line(name: str, htdocs: Path, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as a script, each file calls plugserve.run(Site(root), *listen) with the guide's
    endpoints (plugserve.run is replaced, so nothing listens on port 80)."""
    (tmp_path / "ports").write_text("8080 8081\n")
    for var in ("HTDOCS", "DOCDIR", "FONTS"):
        monkeypatch.setenv(var, str(htdocs))
    monkeypatch.setenv("WEB_PORTS", str(tmp_path / "ports"))
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(plugserve, "run", lambda *args, **kw: calls.append(args))
    namespace = runpy.run_path(str(GUIDE / f"{name}.py"), run_name="__main__")
    assert len(calls) == 1
    site, *endpoints = calls[0]
    assert isinstance(site, Site)
    assert isinstance(site.resource, File)
    assert site.resource is namespace["root"]
    assert site.resource.path == str(htdocs)
    expected = ["tcp:8080", "tcp:8081"] if name == "static_ports_file" else ["tcp:80"]
    assert endpoints == expected == namespace["listen"]


# -- Creating a Twisted Web server which serves a directory ---------------------------------------


def test_serving_a_directory_from_the_command_line(htdocs: Path) -> None:
    """`twistd -n web --path /Users/dsp/Sites` is `plugserve --path /Users/dsp/Sites`."""
    with running(["--path", str(htdocs), "--listen", LOOPBACK]) as server:
        assert get(server.url, "/hello.txt").body == b"hello from htdocs\n"
        listing = get(server.url, "/")
        assert listing.status == 200
        assert b'href="sub/"' in listing.body
        assert b'href="hello.txt"' in listing.body
