"""`Site(logFormatter=...)`: Twisted's access-log formatters (`plugserve.http`'s
`combinedLogFormatter` and `proxiedLogFormatter`) and a site's own, in the real access log of
a real server; a formatter that raises costs the line its format, never the line."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from plugserve import http
from plugserve.resource import Resource
from plugserve.server import Site
from plugserve.testing import eventually

from tests.wire import ServerFactory

STAMP = r"\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\]"


class Ok(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"ok"


def serve_and_log(plugserve_server: ServerFactory, tmp_path: Path, formatter: Any,
                  headers: dict[str, str] | None = None) -> str:
    log = tmp_path / "access.log"
    srv = plugserve_server(Site(Ok(), logPath=str(log), logFormatter=formatter), access_log=True)
    assert srv.get("/logged?q=1", headers=headers).body == b"ok"
    assert eventually(lambda: log.exists() and "/logged" in log.read_text())
    return log.read_text()


@pytest.mark.parametrize(("forwarded", "client"), [
    (None, "-"),
    ("203.0.113.5", "203.0.113.5"),
    ("203.0.113.5, 10.0.0.1", "203.0.113.5"),
    ("2001:db8::7 , 10.0.0.1", "2001:db8::7"),
    ('a"b', 'a\\"b'),  # whatever a client wrote, escaped
])
def test_proxied_log_formatter_names_the_first_forwarded_address(
        plugserve_server: ServerFactory, tmp_path: Path, forwarded: str | None,
        client: str) -> None:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    line = serve_and_log(plugserve_server, tmp_path, http.proxiedLogFormatter, headers)
    assert re.fullmatch(re.escape(client) + " - - " + STAMP
                        + r' "GET /logged\?q=1 HTTP/1\.1" 200 2 "-" "[^"]*"\n', line), line


def test_combined_log_formatter_is_the_default_line(
        plugserve_server: ServerFactory, tmp_path: Path) -> None:
    line = serve_and_log(plugserve_server, tmp_path, http.combinedLogFormatter)
    assert re.fullmatch("127.0.0.1 - - " + STAMP + r' "GET /logged\?q=1 HTTP/1\.1" 200 2 '
                        r'"-" "[^"]*"\n', line), line


def test_a_site_s_own_formatter(plugserve_server: ServerFactory, tmp_path: Path) -> None:
    def formatter(timestamp: str, request: Any) -> str:
        return f"{request.code} {request.uri.decode()} at {timestamp}"

    line = serve_and_log(plugserve_server, tmp_path, formatter)
    assert re.fullmatch(r"200 /logged\?q=1 at " + STAMP + "\n", line), line


def test_a_formatter_that_raises_still_logs_the_combined_line(
        plugserve_server: ServerFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="plugserve")

    def broken(timestamp: str, request: Any) -> str:
        raise KeyError("oops")

    line = serve_and_log(plugserve_server, tmp_path, broken)
    assert line.startswith("127.0.0.1 - - [") and '"GET /logged?q=1 HTTP/1.1" 200 2' in line
    assert "logFormatter" in caplog.text and "KeyError" in caplog.text


def test_a_factory_keeps_its_formatter() -> None:
    assert http.HTTPFactory(logFormatter=http.proxiedLogFormatter).logFormatter is (
        http.proxiedLogFormatter)
    assert Site(Ok()).logFormatter is None  # the built-in combined line, without a call
