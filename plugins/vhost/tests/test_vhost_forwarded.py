"""`--trust-forwarded`: Forwarded and X-Forwarded-* change the request only from trusted
peers, the client is the rightmost untrusted address, and what cannot be parsed is ignored and
logged.  Over real sockets from 127.0.0.1, on both engines, with the plugin's own hook."""

from __future__ import annotations

import ipaddress
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from plugserve.testing import eventually
from plugserve_vhost import _forwarded, _plugin
from vhost_resources import Tell

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
TEN = ipaddress.ip_network("10.0.0.0/8")


@pytest.fixture
def tell(plugserve_server: Any) -> Any:
    return plugserve_server(Tell("root"), plugins=[_plugin])


def seen(server: Any, headers: dict[str, str]) -> dict[str, Any]:
    response = server.get("/page", headers={"Host": "backend.internal:8080", **headers})
    assert response.status == 200, response.body
    return json.loads(response.body)  # type: ignore[no-any-return]


# (trusted ranges, request headers, expected client, secure, prePathURL)
CASES = [
    # nothing trusted, or the peer outside the ranges: headers ignored
    ((), {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
     "127.0.0.1", False, "http://backend.internal:8080/"),
    ((TEN,), {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil.example"},
     "127.0.0.1", False, "http://backend.internal:8080/"),
    # one trusted proxy
    ((LOOPBACK,), {"X-Forwarded-For": "203.0.113.9"},
     "203.0.113.9", False, "http://backend.internal:8080/"),
    ((LOOPBACK,), {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
                   "X-Forwarded-Host": "example.com"},
     "203.0.113.9", True, "https://example.com/"),
    ((LOOPBACK,), {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "example.com:8443"},
     "127.0.0.1", True, "https://example.com:8443/"),
    ((LOOPBACK,), {"X-Forwarded-Host": "example.com", "X-Forwarded-Port": "8081"},
     "127.0.0.1", False, "http://example.com:8081/"),
    # a chain: the forged left part is not believed
    ((LOOPBACK, TEN), {"X-Forwarded-For": "203.0.113.9, 198.51.100.2, 10.1.2.3"},
     "198.51.100.2", False, "http://backend.internal:8080/"),
    ((LOOPBACK, TEN), {"X-Forwarded-For": "203.0.113.9, 198.51.100.2", "X-Forwarded-For ": ""},
     "198.51.100.2", False, "http://backend.internal:8080/"),
    # Forwarded, RFC 7239
    ((LOOPBACK,), {"Forwarded": 'for="[2001:db8::1]:4711";proto=https;host=example.com'},
     "2001:db8::1", True, "https://example.com/"),
    ((LOOPBACK, TEN), {"Forwarded": "for=203.0.113.9, for=_hidden, for=10.0.0.5"},
     "10.0.0.5", False, "http://backend.internal:8080/"),
    # the client hidden, the scheme stated: the Host header (with its port) is the front's
    ((LOOPBACK,), {"Forwarded": "for=unknown;proto=https"},
     "127.0.0.1", True, "https://backend.internal:8080/"),
    # Forwarded wins over X-Forwarded-For
    ((LOOPBACK,), {"Forwarded": "for=192.0.2.60", "X-Forwarded-For": "203.0.113.9"},
     "192.0.2.60", False, "http://backend.internal:8080/"),
]


@pytest.mark.parametrize(("ranges", "headers", "client", "secure", "url"), CASES)
def test_forwarded_headers(tell: Any, ranges: tuple[Any, ...], headers: dict[str, str],
                           client: str, secure: bool, url: str) -> None:
    _forwarded.use(ranges)
    headers = {k: v for k, v in headers.items() if not k.endswith(" ")}
    got = seen(tell, headers)
    assert (got["client"], got["secure"], got["url"]) == (client, secure, url)


def test_two_forwarded_lines_are_one_list(tell: Any) -> None:
    _forwarded.use((LOOPBACK, TEN))
    conn = tell.connection()
    conn.putrequest("GET", "/page", skip_host=True)
    conn.putheader("Host", "backend.internal")
    conn.putheader("Forwarded", "for=203.0.113.9")
    conn.putheader("Forwarded", "for=10.0.0.7")
    conn.endheaders()
    got = json.loads(conn.getresponse().read())
    conn.close()
    assert got["client"] == "203.0.113.9"


@pytest.mark.parametrize(("headers", "logged"), [
    ({"Forwarded": "for=203.0.113.9;;;==="}, "malformed Forwarded"),
    ({"Forwarded": 'for="unterminated'}, "malformed Forwarded"),
    ({"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "ftp"}, "ignored forwarded proto"),
    ({"X-Forwarded-Host": "bad host..name/x"}, "ignored forwarded proto/host"),
])
def test_what_cannot_be_parsed_is_ignored_and_logged(
        tell: Any, caplog: pytest.LogCaptureFixture, headers: dict[str, str],
        logged: str) -> None:
    caplog.set_level(logging.INFO, logger="plugserve.vhost")
    _forwarded.use((LOOPBACK,))
    got = seen(tell, headers)
    assert got["url"] == "http://backend.internal:8080/" and got["secure"] is False
    assert logged in caplog.text
    assert tell.get("/").status == 200


def test_a_bad_cidr_is_refused() -> None:
    assert _forwarded.parse_node(b"[::1]:99999") is None
    assert _forwarded.parse_node(b"unknown") is None
    assert _forwarded.parse_node(b'"[2001:db8::1]:80"') == (
        ipaddress.ip_address("2001:db8::1"), 80)


def test_the_access_log_names_the_forwarded_client(plugserve_server: Any, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    server = plugserve_server(Tell("root"), plugins=[_plugin], access_log=True,
                              logfile=str(log))
    _forwarded.use((LOOPBACK,))
    assert server.get("/page", headers={"X-Forwarded-For": "203.0.113.9"}).status == 200
    _forwarded.use(())
    assert server.get("/other", headers={"X-Forwarded-For": "203.0.113.9"}).status == 200
    assert eventually(lambda: log.read_text().count("\n") >= 2)
    first, second = log.read_text().splitlines()
    assert first.startswith("203.0.113.9 - - [") and '"GET /page HTTP/1.1" 200' in first
    assert second.startswith("127.0.0.1 - - [")
