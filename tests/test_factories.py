"""Protocol factories (DESIGN.md, "Protocol factories"): `plugserve.http.HTTPFactory`, whose
`buildProtocol` returns an `HTTPChannel`, whose `requestFactory` requests process themselves.

Over real sockets on both engines: the tested docs/examples/factory.py (Twisted's shape, served
by `plugserve_server`, by `plugserve --config` and by `plugserve.run`), the default
`http.Request` (404), errors (500, or a dropped connection once the response started), the
access log, the limits, a Site being a factory, and a Site subclass building its own channels.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from plugserve import http, server
from plugserve.resource import Resource
from plugserve.testing import eventually, parse_responses

from tests.cli_helpers import LOOPBACK, REPO, running
from tests.wire import RawClient, ServerFactory

pytestmark = pytest.mark.each_engine
EXAMPLE = REPO / "docs/examples/factory.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("factory_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_serves_below_the_resource_tree(plugserve_server: ServerFactory) -> None:
    example = _example()
    srv = plugserve_server(example.EchoFactory())
    response = srv.get("/some/where?x=1")
    assert (response.status, response.body) == (200, b"GET /some/where?x=1\n")
    assert response.header("content-type") == "text/plain; charset=utf-8"
    assert response.header("server") is not None and response.header("date") is not None
    posted = srv.request("POST", "/", body=b"data")
    assert (posted.status, posted.header("allow")) == (405, "GET, HEAD")


def test_example_keeps_connections_alive_and_pipelines(plugserve_server: ServerFactory) -> None:
    srv = plugserve_server(_example().factory)
    with RawClient.to(srv) as client:
        client.send(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        first, second = client.response(), client.response()
    assert (first.body, second.body) == (b"GET /a\n", b"GET /b\n")


def test_channels_are_built_by_the_factory(plugserve_server: ServerFactory) -> None:
    built: list[Any] = []

    class Counting(http.HTTPFactory):
        def buildProtocol(self, addr: Any) -> http.HTTPChannel:
            channel = http.HTTPChannel()
            built.append(channel)
            return channel

    srv = plugserve_server(Counting())
    srv.get("/")
    srv.get("/")
    assert len(built) == 2  # one channel per connection


def test_default_request_answers_404(plugserve_server: ServerFactory) -> None:
    """Twisted's `http.Request.process` has nothing to serve; plugserve says 404, not 500."""
    srv = plugserve_server(http.HTTPFactory())
    response = srv.get("/")
    assert response.status == 404
    assert srv.get("/again").status == 404


class Failing(http.Request):
    def process(self) -> None:
        if self.path == b"/late":
            self.write(b"partial")
        raise RuntimeError("broken on purpose")


class FailingChannel(http.HTTPChannel):
    requestFactory = Failing


class FailingFactory(http.HTTPFactory):
    protocol = FailingChannel


def test_errors_are_a_500_and_the_server_keeps_serving(
    plugserve_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    srv = plugserve_server(FailingFactory())
    response = srv.get("/early")
    assert response.status == 500 and b"broken on purpose" not in response.body
    assert "broken on purpose" in caplog.text
    # Once the response started, the connection is dropped: the client sees it is incomplete.
    raw = srv.raw(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200") and raw.endswith(b"7\r\npartial\r\n")  # no last chunk
    assert srv.get("/early").status == 500


def test_limits_apply_to_a_factory(plugserve_server: ServerFactory) -> None:
    srv = plugserve_server(_example().factory, max_request_line_bytes=64)
    [response] = parse_responses(srv.raw(b"GET /" + b"a" * 80 + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert response.status == 414
    assert srv.get("/short").status == 200


def test_access_log_of_a_factory(plugserve_server: ServerFactory, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    srv = plugserve_server(_example().EchoFactory(logPath=str(log)), access_log=True)
    assert srv.get("/logged").status == 200
    assert eventually(lambda: log.exists() and '"GET /logged HTTP/1.1" 200' in log.read_text())


def test_a_site_is_an_http_factory(plugserve_server: ServerFactory) -> None:
    class Page(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            return b"page:" + bytes(request.getHeader(b"x-channel") or b"")

    class Tagging(server.Request):
        def process(self) -> None:
            self.requestHeaders.setRawHeaders(b"x-channel", [b"mine"])
            super().process()

    class TaggingChannel(http.HTTPChannel):
        requestFactory = Tagging

    class MySite(server.Site):
        def buildProtocol(self, addr: Any) -> http.HTTPChannel:
            return TaggingChannel()

    assert isinstance(server.Site(Page()), http.HTTPFactory)
    srv = plugserve_server(MySite(Page()))
    assert srv.get("/").body == b"page:mine"


def test_config_file_serves_a_factory() -> None:
    with running(["--config", str(EXAMPLE), "--listen", LOOPBACK]) as proc:
        import urllib.request

        with urllib.request.urlopen(proc.url + "/via/cli") as reply:
            assert reply.read() == b"GET /via/cli\n"
        status, _, err = proc.stop()
    assert status == 0, err


def test_mounting_into_a_factory_is_a_start_up_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plugserve", "--config", str(EXAMPLE), "--wsgi",
         "/app=docs.examples.wsgi_site:application", "--listen", LOOPBACK],
        capture_output=True, text=True, timeout=30, cwd=REPO,
    )
    assert result.returncode == 2, result.stderr
    assert "no resource tree to mount /app" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_serves_a_factory_as_a_script() -> None:
    """`python docs/examples/factory.py` serves on 8080 through `plugserve.run`; here the same
    call on tcp:0, stopped by SIGTERM."""
    code = (
        "import runpy, plugserve\n"
        f"ns = runpy.run_path({str(EXAMPLE)!r})\n"
        f"plugserve.run(ns['factory'], {LOOPBACK!r})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("plugserve: listening on "), process.stderr
        url = line.split(" on ", 1)[1].strip()
        import urllib.request

        with urllib.request.urlopen(url + "/script") as reply:
            assert reply.read() == b"GET /script\n"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
    assert process.returncode == 0
