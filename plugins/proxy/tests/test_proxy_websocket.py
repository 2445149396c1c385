"""WebSockets through the reverse proxy, with the `websockets` library on both ends: its
asyncio server as the upstream and its sync client in the test, so that the handshake
(Sec-WebSocket-Key/Accept, extensions) and the framing are checked by an implementation other
than ours.  Text, binary and a 1 MiB message go up and come back, and the closing handshake
reaches the upstream.  Any other Upgrade (h2c) is not relayed: the upstream sees a plain
request."""

from __future__ import annotations

import os
from typing import Any

from plugserve.testing import RawClient, eventually
from plugserve_proxy import ReverseProxyResource
from proxy_services import WebSocketEcho
from websockets.sync.client import connect


def test_messages_go_through_and_the_close_is_clean(plugserve_server: Any,
                                                     ws_echo: WebSocketEcho) -> None:
    proxy = plugserve_server(ReverseProxyResource("127.0.0.1", ws_echo.port, b"/ws"))
    big = os.urandom(2**20)
    with connect(f"ws://127.0.0.1:{proxy.port}/chat?room=1", max_size=16 * 2**20,
                 open_timeout=10, close_timeout=10) as ws:
        ws.send("héllo, wörld")
        assert ws.recv(timeout=10) == "héllo, wörld"
        ws.send(b"\x00\x01binary\xff")
        assert ws.recv(timeout=10) == b"\x00\x01binary\xff"
        ws.send(big)
        assert ws.recv(timeout=10) == big
        ws.close()
        assert ws.close_code == 1000
    assert eventually(lambda: ws_echo.seen and ws_echo.seen[0]["close_code"] == 1000)
    seen = ws_echo.seen[0]
    assert seen["path"] == "/ws/chat?room=1"
    names = [n for n, _ in seen["headers"]]
    assert "via" in names and "x-forwarded-for" in names
    assert ("upgrade", "websocket") in seen["headers"]


def test_many_messages_both_ways_keep_their_order(plugserve_server: Any,
                                                  ws_echo: WebSocketEcho) -> None:
    proxy = plugserve_server(ReverseProxyResource("127.0.0.1", ws_echo.port, b""))
    with connect(f"ws://127.0.0.1:{proxy.port}/", open_timeout=10) as ws:
        for i in range(200):
            ws.send(f"m{i}")
        assert [ws.recv(timeout=10) for _ in range(200)] == [f"m{i}" for i in range(200)]


def test_an_h2c_upgrade_reaches_the_upstream_without_upgrade(plugserve_server: Any,
                                                              echo: Any) -> None:
    resource, upstream = echo
    proxy = plugserve_server(ReverseProxyResource("127.0.0.1", upstream.port, b""))
    with RawClient.to(proxy) as client:
        client.send(b"GET /h2 HTTP/1.1\r\nHost: front\r\n"
                    b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                    b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
        response = client.response()
    assert response.status == 200
    assert response.header(b"upgrade") is None
    names = [n for n, _ in response.json()["headers"]]
    for gone in ("upgrade", "connection", "http2-settings"):
        assert gone not in names, gone
    assert resource.requests[-1]["uri"] == "/h2"
