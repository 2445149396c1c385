"""The proxy next to a real nginx, on both sides.  As the upstream of ReverseProxyResource,
nginx serves static files: a 4 MiB file must arrive byte for byte with its Content-Length, its
validators (ETag, Last-Modified) and nginx's answers to Range, HEAD and a missing file must pass
through unchanged.  As the front proxy (HTTP/1.1, keep-alive upstream pool), nginx relays to a
plugserve reverse proxy in front of the echo: many requests on reused connections, a large
request body, and the forwarded headers that the echo must see."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

import requests
from plugserve_proxy import ReverseProxyResource
from proxy_services import Nginx

_SIZE = 4 * 1024 * 1024


def _static(nginx: Callable[..., Nginx]) -> tuple[Nginx, bytes]:
    server = nginx("location / { root {root}; }")
    data = os.urandom(_SIZE)
    (server.root / "big.bin").write_bytes(data)
    return server, data


def test_a_big_static_file_from_nginx_arrives_whole(plugserve_server: Any,
                                                    nginx: Callable[..., Nginx]) -> None:
    upstream, data = _static(nginx)
    direct = requests.get(upstream.url + "/big.bin")
    proxy = plugserve_server(ReverseProxyResource("127.0.0.1", upstream.port, b""))
    response = requests.get(proxy.url + "/big.bin")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(_SIZE)
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(data).digest()
    for validator in ("etag", "last-modified"):
        assert response.headers[validator] == direct.headers[validator], validator
    assert response.headers["server"].startswith("nginx")
    assert response.headers["via"].startswith("1.1 plugserve-")


def test_range_conditional_and_head_pass_through(plugserve_server: Any,
                                                 nginx: Callable[..., Nginx]) -> None:
    upstream, data = _static(nginx)
    proxy = plugserve_server(ReverseProxyResource("127.0.0.1", upstream.port, b""))
    ranged = requests.get(proxy.url + "/big.bin", headers={"Range": "bytes=1000-1999"})
    assert ranged.status_code == 206
    assert ranged.headers["content-range"] == f"bytes 1000-1999/{_SIZE}"
    assert ranged.headers["content-length"] == "1000"
    assert ranged.content == data[1000:2000]
    etag = ranged.headers["etag"]
    assert requests.get(proxy.url + "/big.bin",
                        headers={"If-None-Match": etag}).status_code == 304
    head = requests.head(proxy.url + "/big.bin")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(_SIZE)
    assert head.headers["etag"] == etag


def test_an_nginx_404_passes_through(plugserve_server: Any,
                                     nginx: Callable[..., Nginx]) -> None:
    upstream, _data = _static(nginx)
    proxy = plugserve_server(ReverseProxyResource("127.0.0.1", upstream.port, b""))
    response = requests.get(proxy.url + "/missing.bin")
    assert response.status_code == 404
    assert b"404 Not Found" in response.content and b"nginx" in response.content


def _front(nginx: Callable[..., Nginx], port: int) -> Nginx:
    """nginx in front of plugserve at `port`, as its documentation advises for keep-alive."""
    return nginx(
        "client_max_body_size 16m;\n"
        "location / {\n"
        "    proxy_pass http://plugserve;\n"
        "    proxy_http_version 1.1;\n"
        '    proxy_set_header Connection "";\n'
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "}",
        http_extra=f"upstream plugserve {{ server 127.0.0.1:{port}; keepalive 8; }}")


def test_nginx_in_front_of_the_reverse_proxy(plugserve_server: Any, echo: Any,
                                             nginx: Callable[..., Nginx]) -> None:
    resource, upstream = echo
    proxy = plugserve_server(ReverseProxyResource("127.0.0.1", upstream.port, b"/app"))
    front = _front(nginx, proxy.port)
    with requests.Session() as session:
        statuses = [session.get(f"{front.url}/r{i}?i={i}").status_code for i in range(50)]
        assert statuses == [200] * 50
        assert [r["uri"] for r in resource.requests[-3:]] == [
            f"/app/r{i}?i={i}" for i in (47, 48, 49)]
        posted = session.post(front.url + "/upload", data=b"p" * 1_000_000)
    assert posted.status_code == 200
    seen = posted.json()
    assert seen["method"] == "POST" and seen["body_length"] == 1_000_000
    headers = dict(seen["headers"])
    # nginx adds the client, plugserve appends nginx: both hops are on loopback here.
    assert headers["x-forwarded-for"] == "127.0.0.1, 127.0.0.1"
    assert headers["forwarded"].startswith("for=127.0.0.1;proto=http;host=")
    assert headers["x-forwarded-proto"] == "http"
    assert "via" in headers
    # plugserve keeps its own upstream connections alive too: far fewer than 51.
    assert len(resource.ports) <= 8
