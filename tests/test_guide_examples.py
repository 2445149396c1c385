"""The Twisted Web guide's examples, ported to plugserve (examples/guide/), served and checked.

Each example file differs from the guide only in its imports and its run lines, so these tests
show that Twisted code ports by changing imports.  A module is imported without running its
`if __name__ == "__main__":` block and its site or resource is served with the fixture; one test
also runs every file as a script on tcp:0 to check the run lines.

The static.File configurations (examples/guide/static_*.py) are served and checked by
test_static_guide_examples.py, .rpy scripts in test_rpy_guide_examples.py, WSGI in
test_wsgi_guide_examples.py, proxies in test_proxy_guide_examples.py, virtual hosts in
test_vhost_guide_examples.py.  Skipped (other plugins serve them): distrib (spreadable)
servers, CGI and As-Is files.
"""

from __future__ import annotations

import gzip
import http.client
import importlib.util
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from plugserve import reactor as real_reactor
from plugserve.resource import EncodingResourceWrapper
from plugserve.rewrite import RewriterResource
from plugserve.server import Site
from plugserve.testing import TestServer

ServerFactory = Callable[..., TestServer]

GUIDE = Path(__file__).resolve().parent.parent / "examples" / "guide"
EXAMPLES = [
    "site_simple", "resource_hello", "resource_tree", "rendering", "request_encoders",
    "sessions", "rewrite_tilde", "not_wanted",
]


def load(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import examples/guide/<name>.py under another name, so its run lines do not run."""
    monkeypatch.syspath_prepend(str(GUIDE))  # resource_tree imports resource_hello
    spec = importlib.util.spec_from_file_location(f"guide_{name}", GUIDE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_file_is_tested() -> None:
    # static_*.py, wsgi_*.py, proxy_*.py, vhost_*.py, cgi_*.py:
    # test_{static,wsgi,proxy,vhost,cgi}_guide_examples
    names = [p.stem for p in GUIDE.glob("*.py")
             if not p.stem.startswith(("static_", "wsgi_", "proxy_", "vhost_", "cgi_"))]
    assert sorted(names) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_says_where_it_comes_from(name: str) -> None:
    first = (GUIDE / f"{name}.py").read_text().splitlines()[0]
    assert first.startswith("# Twisted Web guide, "), first


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_imports_nothing_from_twisted(name: str) -> None:
    source = (GUIDE / f"{name}.py").read_text()
    assert re.search(r"^\s*(from|import)\s+twisted\b", source, re.M) is None


# -- Site Objects ---------------------------------------------------------------------------------


def test_site_objects(plugserve_server: ServerFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load("site_simple", monkeypatch)
    assert isinstance(module.site, Site)
    server = plugserve_server(module.site)
    for path in ("/", "/any/path", "/?q=1"):
        response = server.get(path)
        assert response.status == 200
        assert response.body == b"<html>Hello, world!</html>"
        assert response.header("Content-Type") == "text/html"
        assert response.header("Content-Length") == "26"
    assert server.request("POST", "/", body=b"").status == 405


# -- Resource objects and trees -------------------------------------------------------------------


def test_resource_objects_hello_reports_prepath(
    plugserve_server: ServerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load("resource_hello", monkeypatch)
    server = plugserve_server(module.resource)
    # A leaf at the root: traversal stops at once, so prepath is empty for every URL.
    for path in ("/", "/foo", "/foo/bar/"):
        response = server.get(path)
        assert response.status == 200
        assert response.body == b"Hello, world! I am located at []."


def test_resource_objects_hello_below_the_root(
    plugserve_server: ServerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from plugserve.resource import Resource

    module = load("resource_hello", monkeypatch)
    root = Resource()
    root.putChild(b"hello", module.Hello())
    server = plugserve_server(root)
    assert server.get("/hello").body == b"Hello, world! I am located at [b'hello']."
    assert server.get("/hello/x/").body == b"Hello, world! I am located at [b'hello']."


def test_resource_trees(plugserve_server: ServerFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load("resource_tree", monkeypatch)
    assert set(module.root.children) == {b"fred", b"bob"}
    server = plugserve_server(module.root)
    # The guide's five URLs are all valid.  Hello is a leaf, so (as in Twisted) the root
    # renders them all and the children are never reached.
    for path in ("/", "/fred", "/bob", "/fred/", "/bob/"):
        response = server.get(path)
        assert response.status == 200, path
        assert response.body == b"Hello, world! I am located at [].", path


# -- Resource rendering ---------------------------------------------------------------------------


def test_rendering_return_bytes(
    plugserve_server: ServerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load("rendering", monkeypatch)
    server = plugserve_server(module.site)
    response = server.get("/bytes?name=guide")
    assert response.body == b"<html>Hello, guide!</html>"
    assert response.header("Content-Length") == str(len(response.body))
    posted = server.request("POST", "/bytes", {"Content-Type": "application/x-www-form-urlencoded"},
                            b"name=post")
    assert posted.body == b"<html>Hello, post!</html>"


def test_rendering_write_then_finish(
    plugserve_server: ServerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load("rendering", monkeypatch)
    response = plugserve_server(module.site).get("/write")
    assert response.status == 200
    assert response.body == b"<html>stuff, more stuff</html>"
    assert response.header("Transfer-Encoding") == "chunked"


def test_rendering_delayed_finish(
    plugserve_server: ServerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load("rendering", monkeypatch)
    server = plugserve_server(module.site)
    start = time.monotonic()
    response = server.get("/delayed")
    elapsed = time.monotonic() - start
    assert response.status == 200
    assert response.body == b"<html><body>Sorry to keep you waiting.</body></html>"
    assert elapsed >= module.DELAY * 0.9
    # While one request waits, the server answers others.
    conn = server.connection()
    try:
        conn.request("GET", "/delayed")
        assert server.get("/bytes").status == 200
        assert conn.getresponse().read().startswith(b"<html><body>Sorry")
    finally:
        conn.close()


# -- Request encoders -----------------------------------------------------------------------------


def test_request_encoders(
    plugserve_server: ServerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load("request_encoders", monkeypatch)
    assert isinstance(module.wrapped, EncodingResourceWrapper)
    server = plugserve_server(module.site)
    response = server.get("/", {"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.header("Content-Encoding") == "gzip"
    assert gzip.decompress(response.body) == b"<html>Hello, world!</html>"
    plain = server.get("/")
    assert plain.header("Content-Encoding") is None
    assert plain.body == b"<html>Hello, world!</html>"
    assert plain.header("Vary") == response.header("Vary") == "Accept-Encoding"


# -- Session --------------------------------------------------------------------------------------


def mounted(resource: Any, name: bytes) -> Any:
    """A root with `resource` at /name, as the examples' run lines serve it (like an .rpy)."""
    from plugserve.resource import Resource

    root = Resource()
    root.putChild(name, resource)
    return root


def test_sessions(plugserve_server: ServerFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load("sessions", monkeypatch)
    server = plugserve_server(mounted(module.resource, b"session"))
    first = server.get("/session")
    uid = first.body.removeprefix(b"Your session id is: ").decode()
    assert re.fullmatch(r"[0-9a-f]{64}", uid)
    cookie = first.header("Set-Cookie") or ""
    assert cookie.startswith(f"TWISTED_SESSION={uid}; Path=/")
    jar = {"Cookie": f"TWISTED_SESSION={uid}"}
    again = server.get("/session", jar)
    assert again.body == first.body
    assert again.header("Set-Cookie") is None
    count = "/session/count"
    assert server.get(count, jar).body == b"You have been here 1 times in this session."
    assert server.get(count, jar).body == b"You have been here 2 times in this session."
    # Another browser (no cookie) has its own session.
    assert server.get(count).body == b"You have been here 1 times in this session."
    assert server.get("/session/expire", jar).body == b"Your session has been expired."
    renewed = server.get("/session", jar)
    assert renewed.body != first.body
    assert (renewed.header("Set-Cookie") or "").startswith("TWISTED_SESSION=")


# -- Rewriting URLs -------------------------------------------------------------------------------


def test_rewriting_urls_tilde_to_users(
    plugserve_server: ServerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = load("rewrite_tilde", monkeypatch)
    assert isinstance(module.default_root, RewriterResource)
    server = plugserve_server(module.default_root)
    response = server.get("/~foo/bar.html")
    assert response.status == 200
    assert response.body == b"user foo, page /bar.html, path /users/foo/bar.html"
    assert server.get("/users/foo/bar.html").body == \
        b"user foo, page /bar.html, path /users/foo/bar.html"
    assert server.get("/elsewhere").status == 404


# -- Knowing When We're Not Wanted ----------------------------------------------------------------


def wait_for_output(capsys: pytest.CaptureFixture[str], needle: str, timeout: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen += capsys.readouterr().out
        if needle in seen:
            return seen
        time.sleep(0.02)
    return seen


def leave_early(port: int, path: str, expected: bytes) -> bytes:
    """GET `path`, read until `expected` arrived, then drop the connection (RST, SO_LINGER 0),
    as a browser whose user gave up does.  (A clean FIN close is only noticed when the server
    next writes: see test_request.py::test_notify_finish_fails_when_client_closes_cleanly.)"""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while expected not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return data


def test_not_wanted_client_goes_away(
    plugserve_server: ServerFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The client disconnects before the 10 s finish: the errback prints `... error`."""
    module = load("not_wanted", monkeypatch)
    server = plugserve_server(mounted(module.resource, b"example"))
    data = leave_early(server.port, "/example", b"hello world")
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    output = wait_for_output(capsys, "error", 2)
    lines = [line for line in output.splitlines() if line.endswith(" error")]
    assert len(lines) == 1, output
    assert "reset" in lines[0]  # println(failure, "error"): the reason, then "error"
    assert "finished normally" not in output


class FastReactor:
    """The example's `reactor`, with its 10 s delay shortened for the test."""

    def callLater(self, delay: float, f: Any, *args: Any, **kw: Any) -> Any:
        return real_reactor.callLater(delay / 100, f, *args, **kw)


def test_not_wanted_client_stays(
    plugserve_server: ServerFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The client waits for finish: the callback prints `finished normally`.

    Waiting the example's 10 s would be too slow, so its reactor is replaced by one that
    divides delays by 100 (the only way to reach the callback path quickly)."""
    module = load("not_wanted", monkeypatch)
    monkeypatch.setattr(module, "reactor", FastReactor())
    server = plugserve_server(mounted(module.resource, b"example"))
    response = server.get("/example")
    assert response.status == 200
    assert response.body == b"hello world"
    output = wait_for_output(capsys, "finished normally", 2)
    assert output.splitlines() == ["finished normally"]


# -- the run lines --------------------------------------------------------------------------------

SCRIPT_CHECKS = {
    "site_simple": ("/", b"<html>Hello, world!</html>"),
    "resource_hello": ("/", b"Hello, world! I am located at []."),
    "resource_tree": ("/fred", b"Hello, world! I am located at []."),
    "rendering": ("/write", b"<html>stuff, more stuff</html>"),
    "request_encoders": ("/", b"<html>Hello, world!</html>"),
    "sessions": ("/session/expire", b"Your session has been expired."),
    "rewrite_tilde": ("/~ann/x", b"user ann, page /x, path /users/ann/x"),
    "not_wanted": ("/example", b"hello world"),
}


def read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return b""
    return proc.stdout.readline()


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_as_a_script(name: str, tmp_path: Path) -> None:
    path, expected = SCRIPT_CHECKS[name]
    stderr = (tmp_path / "stderr").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(GUIDE / f"{name}.py"), "tcp:0:interface=127.0.0.1"],
        stdout=subprocess.PIPE, stderr=stderr, cwd=tmp_path,
    )
    try:
        line = read_line(proc, 10)
        match = re.match(rb"plugserve: listening on http://127\.0\.0\.1:(\d+)", line)
        assert match, (line, (tmp_path / "stderr").read_bytes())
        port = int(match.group(1))
        if name == "not_wanted":
            # Leave before the 10 s finish: the script's errback prints "... error".
            data = leave_early(port, path, expected)
            assert data.startswith(b"HTTP/1.1 200 OK\r\n")
            assert read_line(proc, 5).rstrip().endswith(b" error")
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                assert (response.status, response.read()) == (200, expected)
            finally:
                conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
            stderr.close()
    assert proc.returncode == 0, (tmp_path / "stderr").read_bytes()
