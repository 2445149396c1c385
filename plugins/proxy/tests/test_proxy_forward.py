"""The forward proxy over real sockets: Twisted's `Proxy` channel (the guide's ProxyFactory),
`ForwardProxyResource` (`--plugin proxy`), with `requests` and curl as clients: relaying,
the 400s for targets it cannot relay, CONNECT tunnels and their port rule, who may use it, and
a ProxyRequest subclass that filters."""

from __future__ import annotations

import shutil
import socket
import subprocess
from typing import Any

import pytest
import requests
from plugserve import http
from plugserve.testing import RawClient, eventually
from plugserve_proxy import ForwardProxyResource, Proxy, ProxyRequest, _settings
from proxy_upstreams import ScriptedUpstream


class ProxyFactory(http.HTTPFactory):
    """The guide's example, with only its imports changed."""

    def buildProtocol(self, addr: Any) -> Any:
        return Proxy()


@pytest.fixture(params=["factory", "resource"])
def proxy(request: Any, plugserve_server: Any) -> Any:
    """A forward proxy, as Twisted's channel-level Proxy and as a Site root."""
    return plugserve_server(ProxyFactory() if request.param == "factory"
                            else ForwardProxyResource())


def test_requests_through_the_proxy(proxy: Any, echo: Any) -> None:
    _resource, upstream = echo
    url = f"http://127.0.0.1:{upstream.port}/page?q=1"
    response = requests.get(url, proxies={"http": proxy.url})
    assert response.status_code == 200
    seen = response.json()
    assert seen["uri"] == "/page?q=1"
    assert ["host", f"127.0.0.1:{upstream.port}"] in seen["headers"]
    assert any(n == "via" for n, _ in seen["headers"])
    assert not any(n == "x-forwarded-for" for n, _ in seen["headers"])


def test_post_body_goes_through(proxy: Any, echo: Any) -> None:
    _resource, upstream = echo
    response = requests.post(f"http://127.0.0.1:{upstream.port}/p", data=b"z" * 200_000,
                             proxies={"http": proxy.url})
    assert response.json()["body_length"] == 200_000


def test_the_body_is_relayed_as_it_arrives(proxy: Any) -> None:
    """The upstream hears the request while the client is still sending its body, under the
    channel-level Proxy as under the resource: an upload is never held whole."""
    with ScriptedUpstream(b"", keep_open=True) as upstream, RawClient.to(proxy) as client:
        client.sock.sendall(
            f"POST http://127.0.0.1:{upstream.port}/up HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{upstream.port}\r\nContent-Length: 10000000\r\n\r\n".encode()
            + b"x" * 1000)
        assert eventually(lambda: upstream.received, timeout=5)
        assert upstream.received[0].startswith(b"POST /up HTTP/1.1\r\n")
        assert b"content-length: 10000000" in upstream.received[0].lower()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_through_the_proxy(proxy: Any, echo: Any) -> None:
    _resource, upstream = echo
    out = subprocess.run(["curl", "-s", "-x", proxy.url,
                          f"http://127.0.0.1:{upstream.port}/curl"],
                         capture_output=True, check=True, timeout=30).stdout
    assert b'"uri": "/curl"' in out


@pytest.mark.parametrize("target", [b"/relative", b"https://127.0.0.1/", b"ftp://a/",
                                    b"http://127.0.0.1:99999/", b"http://127.0.0.1:abc/",
                                    b"http://u:p@127.0.0.1/", b"http://[::1/"])
def test_targets_it_cannot_relay_are_400(proxy: Any, target: bytes) -> None:
    with RawClient.to(proxy) as client:
        client.send(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert client.response().status == 400


def test_ipv6_literal_targets(proxy: Any, plugserve_server: Any) -> None:
    from proxy_upstreams import Echo
    try:
        upstream = plugserve_server(Echo(), listen=("tcp6:0:interface=\\:\\:1",))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    response = requests.get(f"http://[::1]:{upstream.server.port}/six",
                            proxies={"http": proxy.url})
    assert response.json()["uri"] == "/six"


def test_unreachable_destination_is_502(proxy: Any) -> None:
    unused = socket.create_server(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()
    response = requests.get(f"http://127.0.0.1:{port}/", proxies={"http": proxy.url})
    assert response.status_code == 502


def test_connect_tunnels_to_allowed_ports_only(proxy: Any) -> None:
    echo_server = socket.create_server(("127.0.0.1", 0))
    port = echo_server.getsockname()[1]
    with RawClient.to(proxy) as client:
        client.send(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert client.response().status == 403
    _settings.use(_settings.ProxySettings(connect_ports=frozenset({port})))
    with RawClient.to(proxy) as client:
        client.send(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\nhello".encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += client.stream.read(1)
        assert head.startswith(b"HTTP/1.1 200 Connection established\r\n")
        conn, _ = echo_server.accept()
        with conn:
            conn.settimeout(5)
            assert conn.recv(5) == b"hello"
            conn.sendall(b"world")
            assert client.stream.read(5) == b"world"
    echo_server.close()


def test_internal_destinations_are_refused_once_others_may_use_it(proxy: Any,
                                                                   echo: Any) -> None:
    resource, upstream = echo
    _settings.use(_settings.ProxySettings(
        allow_clients=(__import__("ipaddress").ip_network("10.0.0.0/8"),)))
    response = requests.get(f"http://127.0.0.1:{upstream.port}/", proxies={"http": proxy.url})
    assert response.status_code == 403
    assert resource.requests == []


def test_a_subclass_of_proxy_request_can_filter(plugserve_server: Any, echo: Any) -> None:
    resource, upstream = echo
    seen: list[bytes] = []

    class Filtering(ProxyRequest):
        def process(self) -> None:
            seen.append(self.uri)
            if b"blocked" in self.uri:
                self.setResponseCode(403)
                self.finish()
                return
            super().process()

    class FilteringProxy(Proxy):
        requestFactory = Filtering

    class Factory(http.HTTPFactory):
        protocol = FilteringProxy

    proxy = plugserve_server(Factory())
    base = f"http://127.0.0.1:{upstream.port}"
    assert requests.get(base + "/blocked", proxies={"http": proxy.url}).status_code == 403
    assert requests.get(base + "/fine", proxies={"http": proxy.url}).status_code == 200
    assert len(seen) == 2 and len(resource.requests) == 1


def test_a_subclass_may_have_the_body_buffered_first(plugserve_server: Any, echo: Any) -> None:
    """With `stream_request_body = False`, `process()` runs once the body is complete and
    reads it whole, as in Twisted; the relay still sends all of it."""
    _resource, upstream = echo
    bodies: list[bytes] = []

    class Buffered(ProxyRequest):
        stream_request_body = False

        def process(self) -> None:
            bodies.append(self.content.read())
            self.content.seek(0)
            super().process()

    class BufferedProxy(Proxy):
        requestFactory = Buffered

    class Factory(http.HTTPFactory):
        protocol = BufferedProxy

    proxy = plugserve_server(Factory())
    response = requests.post(f"http://127.0.0.1:{upstream.port}/b", data=b"q" * 300_000,
                             proxies={"http": proxy.url})
    assert response.json()["body_length"] == 300_000
    assert bodies == [b"q" * 300_000]


def _connect(proxy: Any, port: int) -> socket.socket:
    """A CONNECT tunnel through `proxy` to 127.0.0.1:`port`, its 200 head read."""
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    sock.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 200 ")
    return sock


def test_connect_tunnels_count_and_idle_out(plugserve_server: Any) -> None:
    """A CONNECT tunnel counts towards --max-connections, and a silent one is closed after
    --tunnel-idle-timeout (and its destination connection with it)."""
    destination = socket.create_server(("127.0.0.1", 0))
    port = destination.getsockname()[1]
    _settings.use(_settings.ProxySettings(connect_ports=frozenset({port})))
    proxy = plugserve_server(ForwardProxyResource(), max_connections=1,
                             tunnel_idle_timeout_s=0.5)
    with _connect(proxy, port) as tunnel:
        far, _ = destination.accept()
        with far, RawClient.to(proxy) as other:
            other.send(b"GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n")
            assert other.response().status == 503  # the tunnel holds the only connection
            tunnel.settimeout(5)
            assert tunnel.recv(1) == b""  # idle: the proxy closed it
            far.settimeout(5)
            assert far.recv(1) == b""  # and the destination side too
    destination.close()
