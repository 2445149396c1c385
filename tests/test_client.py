"""plugserve.client over real sockets (TCP and UNIX) against small asyncio servers: keep-alive
reuse, the idle limit and timeout, the retry of a request whose reused connection the upstream
had closed, streamed bodies both ways, timeouts and refusals, 101 takeover, and the strict
parser's refusals (the hostile-upstream cases through the proxy are in plugins/proxy/tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from plugserve._protocol.response_parser import (
    BodyData,
    ResponseError,
    ResponseHead,
    ResponseParser,
)
from plugserve.client import (
    ConnectionPool,
    Upstream,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnreachable,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def _heads(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def keep_alive(count: list[int], answer: bytes = OK) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        count.append(1)
        try:
            while True:
                head = await _heads(reader)
                if b"content-length: " in head.lower():
                    size = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                    await reader.readexactly(size)
                elif b"chunked" in head.lower():
                    while not (await reader.readuntil(b"\r\n")).startswith(b"0\r\n"):
                        pass
                    await reader.readuntil(b"\r\n")
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
    return handle


def run(coroutine: Awaitable[None]) -> None:
    asyncio.run(coroutine)  # type: ignore[arg-type]


def quiet(handler: Handler) -> Handler:
    """A handler that ends quietly when the test's loop closes under it."""
    async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
    return wrapped


def test_connections_are_reused_and_idle_ones_capped_and_timed_out() -> None:
    async def main() -> None:
        count: list[int] = []
        server = await asyncio.start_server(quiet(keep_alive(count)), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = ConnectionPool(max_idle=1, idle_timeout=0.2)
        up = Upstream("127.0.0.1", port)
        for _ in range(3):
            response = await pool.request(up, b"GET", b"/")
            assert await response.read() == b"ok"
        assert pool.connections_made == 1
        # two at once: two connections; only one is kept idle afterwards
        first, second = await asyncio.gather(pool.request(up, b"GET", b"/"),
                                             pool.request(up, b"GET", b"/"))
        await first.read(), await second.read()
        assert pool.connections_made == 2
        await asyncio.sleep(0.4)  # past the idle timeout: the kept one is closed
        await (await pool.request(up, b"GET", b"/")).read()
        assert pool.connections_made == 3
        await pool.aclose()
        server.close()
    run(main())


def test_a_connection_the_upstream_closed_while_idle_is_retried_once() -> None:
    async def main() -> None:
        async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await _heads(reader)
            writer.write(OK)  # says keep-alive, then closes at once
            await writer.drain()
            writer.close()
        server = await asyncio.start_server(quiet(once), "127.0.0.1", 0)
        up = Upstream("127.0.0.1", server.sockets[0].getsockname()[1])
        pool = ConnectionPool()
        for _ in range(3):
            assert await (await pool.request(up, b"GET", b"/")).read() == b"ok"
        await pool.aclose()
        server.close()
    run(main())


def test_unix_socket_and_streamed_upload(tmp_path: Path) -> None:
    async def main() -> None:
        count: list[int] = []
        path = str(tmp_path / "up.sock")
        server = await asyncio.start_unix_server(quiet(keep_alive(count)), path)
        pool = ConnectionPool()
        up = Upstream.parse(f"unix:{path}:/base")
        assert up.path == "/base"

        async def body():
            for _ in range(100):
                yield b"z" * 10000

        for length in (None, 1_000_000):
            response = await pool.request(up, b"POST", b"/", [], body(),
                                          content_length=length)
            assert await response.read() == b"ok"
        assert pool.connections_made == 1
        await pool.aclose()
        server.close()
    run(main())


def test_refused_and_silent_upstreams() -> None:
    async def main() -> None:
        pool = ConnectionPool(timeout=0.3)
        with pytest.raises(UpstreamUnreachable):
            await pool.request(Upstream("127.0.0.1", 1), b"GET", b"/")

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(5)
        server = await asyncio.start_server(quiet(silent), "127.0.0.1", 0)
        with pytest.raises(UpstreamTimeout):
            await pool.request(Upstream("127.0.0.1", server.sockets[0].getsockname()[1]),
                               b"GET", b"/")
        server.close()
    run(main())


def test_truncated_body_is_an_error_not_an_end() -> None:
    async def main() -> None:
        async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await _heads(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            writer.close()
        server = await asyncio.start_server(quiet(short), "127.0.0.1", 0)
        pool = ConnectionPool()
        response = await pool.request(Upstream("127.0.0.1", server.sockets[0].getsockname()[1]),
                                      b"GET", b"/")
        with pytest.raises(UpstreamProtocolError):
            await response.read()
        server.close()
    run(main())


def test_a_101_gives_the_raw_connection() -> None:
    async def main() -> None:
        async def upgrade(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await _heads(reader)
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n\r\nhi")
            while data := await reader.read(100):
                writer.write(data)
            writer.close()
        server = await asyncio.start_server(quiet(upgrade), "127.0.0.1", 0)
        pool = ConnectionPool()
        response = await pool.request(Upstream("127.0.0.1", server.sockets[0].getsockname()[1]),
                                      b"GET", b"/", [(b"upgrade", b"echo")])
        assert response.status == 101
        reader, writer = await response.take_over()
        assert await reader.readexactly(2) == b"hi"
        writer.write(b"back")
        assert await reader.readexactly(4) == b"back"
        writer.close()
        server.close()
    run(main())


def test_header_values_with_line_breaks_are_refused_before_sending() -> None:
    async def main() -> None:
        pool = ConnectionPool()
        with pytest.raises(ValueError):
            await pool.request(Upstream("127.0.0.1", 1), b"GET", b"/", [(b"x", b"a\r\nb: c")])
    run(main())


@pytest.mark.parametrize("data", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a\rb\r\nabc\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n",
    b"HTTP/1.1 99 Low\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n" + b"a: b\r\n" * 101 + b"\r\n",
])
def test_the_parser_refuses(data: bytes) -> None:
    parser = ResponseParser()
    parser.start(b"GET")
    with pytest.raises(ResponseError):
        parser.feed(data)
        parser.feed_eof()


def test_the_parser_reads_in_any_split() -> None:
    data = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
            b"Set-Cookie: a\r\nSet-Cookie: b\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nT: 1\r\n\r\n")
    for step in (1, 2, 3, 7, len(data)):
        parser = ResponseParser()
        parser.start(b"GET")
        events = []
        for i in range(0, len(data), step):
            events += parser.feed(data[i:i + step])
        heads = [e for e in events if isinstance(e, ResponseHead)]
        body = b"".join(e.data for e in events if isinstance(e, BodyData))
        assert [h.status for h in heads] == [100, 200]
        assert heads[1].headers[1:] == [(b"set-cookie", b"a"), (b"set-cookie", b"b")]
        assert body == b"hello!" and events[-1] is None and parser.done
