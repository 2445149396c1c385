"""plugserve.testing's own helpers mean what they say: `has_read` is true only once the server
has read every byte the client sent, `Clock` moves only when advanced, and a Site's `logPath`
is where the access log goes with `plugins=` too."""

from __future__ import annotations

import threading
from pathlib import Path

from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET, Request, Site
from plugserve.testing import Clock, eventually

from tests.wire import RawClient, ServerFactory


class Held(Resource):
    """Answers nothing until the test ends: while it works, the server stops reading."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.working = threading.Event()

    def render_GET(self, request: Request) -> int:
        self.working.set()
        return NOT_DONE_YET


def test_has_read_waits_for_the_server_to_read(plugserve_server: ServerFactory) -> None:
    held = Held()
    server = plugserve_server(held, max_header_bytes=1024)
    with RawClient.to(server) as client:
        client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert eventually(lambda: server.has_read(client.sock))
        assert held.working.wait(10)
        client.send(b"x" * 200_000)  # pipelined while busy: reading pauses past 1024 bytes
        assert not eventually(lambda: server.has_read(client.sock), timeout=0.5)


def test_clock_moves_only_when_advanced() -> None:
    clock = Clock()
    made: list[str] = []
    def one() -> None:
        made.append("one")
        clock.callLater(0.5, made.append, "chained")  # falls due within the same advance

    clock.callLater(2, made.append, "two")
    first = clock.callLater(1, one)
    cancelled = clock.callLater(1.2, made.append, "cancelled")
    cancelled.cancel()
    clock.advance(0.9)
    assert (made, clock.seconds(), first.active()) == ([], 0.9, True)
    clock.advance(1.1)
    assert made == ["one", "chained", "two"] and clock.seconds() == 2.0
    assert not first.active() and clock.getDelayedCalls() == []


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return b"hello"


class Plugin:
    """A plugin with no hooks: enough to make the server build its hooks from `plugins=`."""


def test_a_sites_log_path_is_honoured_with_plugins(plugserve_server: ServerFactory,
                                                  tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    server = plugserve_server(Site(Hello(), logPath=str(log)), plugins=[Plugin()],
                              access_log=True)
    assert server.get("/x").status == 200
    assert eventually(lambda: log.exists() and '"GET /x HTTP/1.1" 200' in log.read_text())
