"""The reverse proxy over real sockets: a plugserve upstream that echoes what reached it, a
scripted hostile upstream, and raw clients.  Headers both ways (repeats, hop-by-hop, Via,
forwarded), paths (Twisted's re-quoting, no escape from the mount), keep-alive reuse, chunked
uploads, failures (502, 504, an aborted truncated body), loops (508) and WebSocket upgrades."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
import requests
from plugserve.server import Site
from plugserve.testing import RawClient
from plugserve_proxy import ReverseProxyResource, _settings
from proxy_upstreams import ScriptedUpstream


def _proxy(plugserve_server: Any, port: int, path: bytes = b"") -> Any:
    return plugserve_server(ReverseProxyResource("127.0.0.1", port, path))


def test_get_relays_body_headers_and_via(plugserve_server: Any, echo: Any) -> None:
    _resource, upstream = echo
    proxy = _proxy(plugserve_server, upstream.port)
    response = requests.get(proxy.url + "/some/page?x=1", headers={"X-Multi": "1"})
    assert response.status_code == 200
    seen = response.json()
    assert seen["uri"] == "/some/page?x=1"
    headers = seen["headers"]
    assert ["host", f"127.0.0.1:{upstream.port}"] in headers
    assert any(n == "via" and v.startswith("1.1 plugserve-") for n, v in headers)
    assert ["x-forwarded-for", "127.0.0.1"] in headers
    assert ["x-forwarded-proto", "http"] in headers
    assert ["x-forwarded-host", f"127.0.0.1:{proxy.port}"] in headers
    assert any(n == "forwarded" and v.startswith("for=127.0.0.1;proto=http;host=")
               for n, v in headers)
    assert response.headers["via"].startswith("1.1 plugserve-")


def test_repeated_headers_survive_both_ways_and_hop_by_hop_go(
        plugserve_server: Any, echo: Any) -> None:
    _resource, upstream = echo
    proxy = _proxy(plugserve_server, upstream.port)
    with RawClient.to(proxy) as client:
        client.send(b"GET /set-cookies HTTP/1.1\r\nHost: front\r\nX-Multi: 1\r\nX-Multi: 2\r\n"
                    b"Connection: x-private, keep-alive\r\nX-Private: no\r\nKeep-Alive: 5\r\n"
                    b"TE: trailers\r\nProxy-Authorization: Basic eA==\r\n"
                    b"Upgrade: h2c\r\n\r\n")
        response = client.response()
    assert response.status == 200
    assert response.all(b"set-cookie") == [b"a=1", b"b=2"]
    assert response.header(b"x-secret") is None and response.header(b"keep-alive") is None
    headers = json.loads(response.body)["headers"]
    names = [n for n, _ in headers]
    assert [v for n, v in headers if n == "x-multi"] == ["1", "2"]
    for gone in ("x-private", "keep-alive", "te", "proxy-authorization", "upgrade",
                 "connection"):
        assert gone not in names, gone


def test_connections_are_kept_alive_and_reused(plugserve_server: Any, echo: Any) -> None:
    resource, upstream = echo
    proxy = _proxy(plugserve_server, upstream.port)
    with requests.Session() as session:
        for _ in range(5):
            assert session.get(proxy.url + "/x").status_code == 200
    assert len(resource.ports) == 1


def test_paths_are_requoted_as_twisted_does(plugserve_server: Any, echo: Any) -> None:
    _resource, upstream = echo
    proxy = _proxy(plugserve_server, upstream.port, b"/up")
    with RawClient.to(proxy) as client:
        client.send(b"GET /a%20b/c%2Fd/%41?x=1 HTTP/1.1\r\nHost: f\r\n\r\n")
        assert json.loads(client.response().body)["uri"] == "/up/a%20b/c%2Fd/A?x=1"


def test_a_path_ending_in_slash_gains_no_second_one(plugserve_server: Any, echo: Any) -> None:
    _resource, upstream = echo
    proxy = _proxy(plugserve_server, upstream.port, b"/vhost/")
    assert requests.get(proxy.url + "/page").json()["uri"] == "/vhost/page"


@pytest.mark.parametrize("path", [b"/api/%2e%2e/admin", b"/api/../admin", b"/api/./x",
                                  b"/api/%2E/x"])
def test_dot_segments_never_leave_the_mount(plugserve_server: Any, echo: Any,
                                             path: bytes) -> None:
    resource, upstream = echo
    proxy = _proxy(plugserve_server, upstream.port, b"/api")
    with RawClient.to(proxy) as client:
        client.send(b"GET " + path + b" HTTP/1.1\r\nHost: f\r\n\r\n")
        assert client.response().status == 400
    assert resource.requests == []


def test_chunked_upload_is_relayed(plugserve_server: Any, echo: Any) -> None:
    _resource, upstream = echo
    proxy = _proxy(plugserve_server, upstream.port)
    body = (b"x" * 1000 for _ in range(300))
    response = requests.post(proxy.url + "/up", data=body)
    assert response.status_code == 200
    assert response.json()["body_length"] == 300_000


def test_large_download_streams(plugserve_server: Any, echo: Any) -> None:
    _resource, upstream = echo
    proxy = _proxy(plugserve_server, upstream.port)
    for query in ("n=5000000", "n=5000000&nolength"):
        response = requests.get(proxy.url + "/big?" + query)
        assert len(response.content) == 5_000_000


def test_head_keeps_the_length_and_sends_no_body(plugserve_server: Any, echo: Any) -> None:
    _resource, upstream = echo
    proxy = _proxy(plugserve_server, upstream.port)
    with RawClient.to(proxy) as client:
        client.send(b"HEAD /big?n=1234 HTTP/1.1\r\nHost: f\r\n\r\n")
        response = client.response(b"HEAD")
        assert response.header(b"content-length") == b"1234" and response.body == b""
        client.send(b"GET /x HTTP/1.1\r\nHost: f\r\n\r\n")  # the connection still serves
        assert client.response().status == 200


def test_refused_upstream_is_502_at_once(plugserve_server: Any) -> None:
    unused = socket.create_server(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()
    proxy = _proxy(plugserve_server, port)
    started = time.monotonic()
    response = requests.get(proxy.url + "/")
    assert response.status_code == 502
    assert time.monotonic() - started < 2


def test_silent_upstream_is_504_after_the_timeout(plugserve_server: Any) -> None:
    _settings.use(_settings.ProxySettings(timeout=0.5))
    with ScriptedUpstream(b"", keep_open=True) as upstream:
        proxy = _proxy(plugserve_server, upstream.port)
        assert requests.get(proxy.url + "/").status_code == 504


@pytest.mark.parametrize("script", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0"
    b"\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Bad: a\rInjected: 1\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"HTTP/2.0 200 OK\r\n\r\n",
    b"garbage\r\n\r\n",
])
def test_malformed_upstream_response_is_502(plugserve_server: Any, script: bytes) -> None:
    with ScriptedUpstream(script) as upstream:
        proxy = _proxy(plugserve_server, upstream.port)
        response = requests.get(proxy.url + "/")
        assert response.status_code == 502
        assert b"Injected" not in response.content


def test_body_on_a_head_response_is_502(plugserve_server: Any) -> None:
    with ScriptedUpstream(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc") as upstream:
        proxy = _proxy(plugserve_server, upstream.port)
        with RawClient.to(proxy) as client:
            client.send(b"HEAD / HTTP/1.1\r\nHost: f\r\n\r\n")
            assert client.response(b"HEAD").status == 502


def test_truncated_body_aborts_the_client_connection(plugserve_server: Any) -> None:
    script = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"a" * 40
    with ScriptedUpstream(script) as upstream:
        proxy = _proxy(plugserve_server, upstream.port)
        with RawClient.to(proxy) as client:
            client.send(b"GET / HTTP/1.1\r\nHost: f\r\n\r\n")
            data = client.read_all()
        assert data.startswith(b"HTTP/1.1 200 OK") and b"content-length: 100" in data.lower()
        assert len(data.partition(b"\r\n\r\n")[2]) == 40  # never completed


def test_truncated_chunked_body_never_ends_cleanly(plugserve_server: Any) -> None:
    script = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    with ScriptedUpstream(script) as upstream:
        proxy = _proxy(plugserve_server, upstream.port)
        with RawClient.to(proxy) as client:
            client.send(b"GET / HTTP/1.1\r\nHost: f\r\n\r\n")
            data = client.read_all()
        assert b"hello" in data and not data.endswith(b"0\r\n\r\n")


def test_a_request_that_passed_here_already_is_a_loop(plugserve_server: Any) -> None:
    site = Site(ReverseProxyResource("127.0.0.1", 1, b""))
    proxy = plugserve_server(site)
    site.resource = ReverseProxyResource("127.0.0.1", proxy.port, b"")
    response = requests.get(proxy.url + "/")
    assert response.status_code == 508


def test_forwarded_headers_can_be_switched_off(plugserve_server: Any, echo: Any) -> None:
    _settings.use(_settings.ProxySettings(forwarded_headers=False))
    _resource, upstream = echo
    proxy = _proxy(plugserve_server, upstream.port)
    names = [n for n, _ in requests.get(proxy.url + "/").json()["headers"]]
    assert "x-forwarded-for" not in names and "forwarded" not in names and "via" in names


def test_websocket_upgrade_is_tunnelled(plugserve_server: Any, echo: Any) -> None:
    resource, upstream = echo
    proxy = _proxy(plugserve_server, upstream.port)
    with RawClient.to(proxy) as client:
        client.send(b"GET /upgrade HTTP/1.1\r\nHost: f\r\nConnection: Upgrade\r\n"
                    b"Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    b"Sec-WebSocket-Version: 13\r\n\r\nfirst")
        response = client.response()
        assert response.status == 101
        assert response.header(b"upgrade") == b"websocket"
        assert client.stream.read(5) == b"first"
        client.send(b"again")
        assert client.stream.read(5) == b"again"
    seen = resource.requests[-1]["headers"]
    assert ["upgrade", "websocket"] in seen and ["sec-websocket-key",
                                                 "dGhlIHNhbXBsZSBub25jZQ=="] in seen
