"""The two HTTP engines: choosing one (Config.http_engine, `--http`), and the inputs on which
llhttp (httptools) and h11 disagree, which must get h11's answer on both engines.

tests/test_protocol.py's golden table already runs on both engines; the table here adds the rows
that only matter because llhttp is in front: inputs llhttp accepts and h11 refuses (leading empty
lines, RTSP/ICE versions, `Transfer-Encoding: gzip, chunked`...), inputs llhttp refuses and h11
accepts (unknown methods, HTTP/1.2, duplicate Content-Length...), and inputs where llhttp frames
a message differently (an Upgrade request's body, data after `Connection: close`).  Then a
differential test feeds the same bytes, cut in several ways, to both engines sans I/O and
requires the same events.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from plugserve._protocol.engines import connection_class, engine_name, make_connection
from plugserve._protocol.h11_engine import (
    BodyChunk,
    BodyEnd,
    ClientClosed,
    HTTPConnection,
    Limits,
    ProtocolError,
    RequestHead,
)
from plugserve._transport.channel import HTTPChannel
from plugserve.config import Config
from plugserve.error import UsageError
from plugserve.testing import TestServer

from tests.cli_helpers import LOOPBACK, REPO
from tests.conftest import HAVE_HTTPTOOLS
from tests.test_protocol import REQUESTS, Echo, H, check_table_row, chunked, post
from tests.wire import RawClient, ServerFactory, good_request, parse_responses

needs_httptools = pytest.mark.skipif(not HAVE_HTTPTOOLS, reason="no httptools engine here")

KEEP, CLOSE = False, True

# (raw request, status, closes): the same on both engines; the status is h11's.
LAXNESS = [
    # -- llhttp accepts, h11 refuses ---------------------------------------------------------
    pytest.param(b"\r\n\r\n" + H(b"Host: a"), 200, KEEP, id="two-leading-empty-lines"),
    pytest.param(b"\n" + H(b"Host: a"), 200, KEEP, id="leading-bare-lf"),
    pytest.param(H(b"Host: a", start=b"GET / RTSP/1.0"), 400, CLOSE, id="rtsp-version"),
    pytest.param(H(b"Host: a", start=b"SOURCE / ICE/1.0"), 400, CLOSE, id="ice-version"),
    pytest.param(H(b"Host: a", start=b"GET / HTTP/1.1 "), 400, CLOSE, id="space-after-version"),
    pytest.param(H(b"Host: a", start=b"GET  /  HTTP/1.1"), 400, CLOSE, id="spaces-around-target"),
    pytest.param(H(b"Host: a", start=b"GET\t/ HTTP/1.1"), 400, CLOSE, id="tab-after-method"),
    pytest.param(H(b"Host: a", start=b"GET /\t HTTP/1.1"), 400, CLOSE, id="tab-in-target"),
    pytest.param(H(b"Host: a", start=b"GET / HTTP/0.9"), 505, CLOSE, id="http-0.9-line"),
    pytest.param(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, CLOSE, id="http2-preface"),
    pytest.param(post(b"Transfer-Encoding: chunked,", body=b"0\r\n\r\n"), 501, CLOSE,
                 id="te-chunked-comma"),
    pytest.param(post(b"Transfer-Encoding: gzip", body=b"0\r\n\r\n"), 501, CLOSE, id="te-gzip"),
    pytest.param(post(b"Transfer-Encoding: chunked", b"Content-Length: 0", body=b"0\r\n\r\n"),
                 400, CLOSE, id="te-and-cl-zero"),
    pytest.param(H(b"Host: a", b"host: b"), 400, CLOSE, id="host-twice-other-case"),
    pytest.param(H(b"Host: a", b" b"), 400, CLOSE, id="host-folded-into-invalid"),
    pytest.param(H(b"Host: a", b"X: a\x0bb"), 400, CLOSE, id="vt-in-value"),
    pytest.param(H(b"Host: a", b"X Y: a"), 400, CLOSE, id="space-in-name"),
    pytest.param(H(b"Host: a", b"X\x00: a"), 400, CLOSE, id="nul-in-name"),
    # -- llhttp refuses, h11 accepts ---------------------------------------------------------
    pytest.param(H(b"Host: a", start=b"FOO / HTTP/1.1"), 501, KEEP, id="unknown-method"),
    pytest.param(H(b"Host: a", start=b"get / HTTP/1.1"), 501, KEEP, id="lower-case-method"),
    pytest.param(H(start=b"GET / HTTP/1.2"), 200, KEEP, id="http-1.2-without-host"),
    pytest.param(H(b"Host: a", b"X: a\x7fb"), 400, CLOSE, id="del-in-value"),
    pytest.param(H(b"Host: a", b"X:"), 200, KEEP, id="empty-value"),
    pytest.param(post(b"Content-Length: 5", b"content-length: 5", body=b"hello"), 200, KEEP,
                 id="cl-twice-other-case"),
    pytest.param(chunked(b'5;a="b c"\r\nhello\r\n0\r\n\r\n'), 200, KEEP,
                 id="chunk-ext-quoted-space"),
    # -- framing llhttp decides differently ----------------------------------------------------
    pytest.param(post(b"Connection: upgrade", b"Upgrade: x", b"Content-Length: 5", body=b"hello"),
                 200, KEEP, id="upgrade-with-body"),
    pytest.param(H(b"Host: a", b"Connection: Upgrade", b"Upgrade: websocket"), 200, KEEP,
                 id="upgrade-without-body"),
    pytest.param(H(b"Host: a:443", b"Content-Length: 5", body=b"hello",
                   start=b"CONNECT a:443 HTTP/1.1"), 405, KEEP, id="connect-with-body"),
    pytest.param(H(b"Host: a", b"Connection: close"), 200, CLOSE, id="data-after-close"),
    pytest.param(H(b"Connection: keep-alive", start=b"GET / HTTP/1.0"), 200, CLOSE,
                 id="http10-keep-alive"),
    pytest.param(post(b"Content-Length: 5 ", body=b"hello"), 200, KEEP, id="cl-trailing-space"),
    pytest.param(post(b"Content-Length:\t5", body=b"hello"), 200, KEEP, id="cl-leading-tab"),
    pytest.param(post(b"Content-Length: 0"), 200, KEEP, id="cl-zero"),
    pytest.param(post(b"Content-Length: " + b"0" * 20 + b"5", body=b"hello"), 400, CLOSE,
                 id="cl-21-digits-leading-zeros"),
    pytest.param(post(b"Content-Length: " + b"0" * 19 + b"5", body=b"hello"), 200, KEEP,
                 id="cl-20-digits-leading-zeros"),
    pytest.param(H(b"Host: a", start=b"GET /a#b HTTP/1.1"), 200, KEEP, id="fragment-in-target"),
    pytest.param(H(b"Host: a", start=b"GET HTTP://A/ HTTP/1.1"), 200, KEEP,
                 id="absolute-form-upper-case"),
]


@pytest.mark.each_engine
@pytest.mark.parametrize(("data", "status", "closes"), LAXNESS)
def test_llhttp_laxness_table(
    plugserve_server: ServerFactory, data: bytes, status: int, closes: bool
) -> None:
    """As test_protocol.test_golden_table: the row then a good request, in one send."""
    check_table_row(plugserve_server, data, status, closes)


@pytest.mark.each_engine
def test_upgrade_request_body_reaches_the_resource(plugserve_server: ServerFactory) -> None:
    """llhttp assumes an Upgrade request has no body (httptools tells it so), and would parse
    the body as the next request: a smuggling vector.  The body is the body."""
    server = plugserve_server(Echo())
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
    data = post(b"Connection: upgrade", b"Upgrade: x", b"Content-Length: %d" % len(smuggled),
                body=smuggled)
    responses = parse_responses(server.raw(data + good_request()), [b"POST", b"GET"])
    assert [(r.status, r.body) for r in responses] == [(200, smuggled), (200, b"hello")]


@pytest.mark.each_engine
def test_header_values_lose_surrounding_whitespace(plugserve_server: ServerFactory) -> None:
    """h11 strips OWS around a value; llhttp keeps the trailing part, which we strip."""
    server = plugserve_server(Echo())
    for line in (b"X-A: v \t", b"X-A:\t v", b"X-A:v  ", b"X-A: v w "):
        data = H(b"Host: a", line, b"Connection: close", start=b"GET /header/x-a HTTP/1.1")
        [response] = parse_responses(server.raw(data))
        assert response.body == line.split(b":", 1)[1].strip(b" \t"), line


@pytest.mark.each_engine
def test_the_configured_engine_serves(plugserve_server: ServerFactory, http_engine: str) -> None:
    server = plugserve_server(Echo())
    running = server.server
    assert running is not None
    with RawClient.to(server) as client:
        client.send(H(b"Host: a"))
        assert client.response().status == 200
        classes = server.call(
            lambda: {type(c.http) for c in running.connections if isinstance(c, HTTPChannel)}
        )
    assert classes == {connection_class(http_engine)}
    expected = "FastHTTPConnection" if http_engine == "httptools" else "HTTPConnection"
    assert [cls.__name__ for cls in classes] == [expected]


# -- choosing the engine ---------------------------------------------------------------------


def test_engine_names() -> None:
    assert engine_name("h11") == "h11"
    assert engine_name("auto") in ("h11", "httptools")
    assert connection_class("h11") is HTTPConnection
    assert type(make_connection(Config(http_engine="h11"))) is HTTPConnection
    with pytest.raises(UsageError, match="unknown HTTP engine"):
        Config(http_engine="nghttp")


@needs_httptools
def test_httptools_engine_is_an_http_connection() -> None:
    from plugserve._protocol.fast_engine import FastHTTPConnection

    assert engine_name("httptools") == "httptools"
    assert connection_class("httptools") is FastHTTPConnection
    assert connection_class("auto") is FastHTTPConnection
    assert issubclass(FastHTTPConnection, HTTPConnection)
    limits = Limits(max_body_bytes=5)
    conn = make_connection(Config(http_engine="httptools"), limits)
    assert type(conn) is FastHTTPConnection and conn.limits is limits


@needs_httptools
def test_common_requests_never_reach_h11() -> None:
    """The point of the engine: ordinary requests, whole, pipelined or trickled, with or without
    a Content-Length body, are parsed by llhttp (no h11 connection is ever made for them)."""
    from plugserve._protocol.fast_engine import FastHTTPConnection

    requests = [
        H(b"Host: example.com", b"User-Agent: wrk", b"Accept: */*", start=b"GET /a?b=c HTTP/1.1"),
        H(b"Host: a", start=b"HEAD / HTTP/1.1"),
        post(b"Content-Length: 5", b"Content-Type: text/plain", body=b"hello"),
        post(b"Content-Length: 3", b"Expect: 100-continue", b"X-Pad: a \t", body=b"abc"),
        H(b"Host: a", b"Connection: keep-alive", start=b"OPTIONS * HTTP/1.1"),
        H(b"Host: a", start=b"GET http://a/ HTTP/1.1"),
        b"GET / HTTP/1.0\r\n\r\n",
    ]
    rng = random.Random(0)
    for data in requests:
        for pieces in [*_cuts(rng, data), [data + data]]:
            conn = FastHTTPConnection(DIFF_LIMITS)
            events = _events_of(conn, pieces)
            assert events and all(not isinstance(e, ProtocolError) for e in events), data
            assert not hasattr(conn, "_h11"), (data, pieces)


def _events_of(conn: HTTPConnection, pieces: list[bytes]) -> list[object]:
    out: list[object] = []
    for piece in pieces:
        for event in conn.receive_data(piece):
            out.append(event)
            if isinstance(event, BodyEnd):
                conn.send_head(200, b"OK", [(b"content-length", b"0")])
                conn.send_end()
                if conn.keep_alive:
                    out.extend(conn.start_next_cycle())
    return out


SITE = """
from plugserve.resource import Resource

class Hello(Resource):
    isLeaf = True
    def render_GET(self, request):
        return b"hello"

root = Hello()
"""

# Runs the CLI in a Python where `import httptools` fails, as it does when it is not installed.
WITHOUT_HTTPTOOLS = (
    "import sys; sys.modules['httptools'] = None; "
    "from plugserve.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _start(tmp_path: Path, *args: str, python: Sequence[str] = ("-m", "plugserve")) -> tuple[
        subprocess.Popen[str], list[str]]:
    """Start the CLI on a one-resource site; return it and its stdout up to the first
    listening line (fails if it exits first)."""
    site = tmp_path / "site.py"
    site.write_text(SITE)
    process = subprocess.Popen(
        [sys.executable, *python, "--config", str(site), "--listen", LOOPBACK,
         "--no-access-log", *args],
        cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    lines: list[str] = []
    while not any(line.startswith("plugserve: listening on ") for line in lines):
        line = process.stdout.readline()
        if not line:
            process.kill()
            _, err = process.communicate()
            raise AssertionError(f"plugserve did not start: {lines}\n{err}")
        lines.append(line)
    return process, lines


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate()


def _serves(lines: list[str]) -> bool:
    url = lines[-1].split(" on ", 1)[1].strip()
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with RawClient((host, int(port))) as client:
        client.send(good_request())
        return client.response().body == b"hello"


@pytest.mark.parametrize("engine", ["h11", pytest.param("httptools", marks=needs_httptools)])
def test_http_flag_selects_and_names_the_engine(
    tmp_path: Path, started: list[subprocess.Popen[str]], engine: str
) -> None:
    process, lines = _start(tmp_path, "--http", engine)
    started.append(process)
    assert f"plugserve: HTTP engine: {engine}\n" in lines
    assert _serves(lines)


def test_auto_is_the_default_and_says_what_it_chose(
    tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    process, lines = _start(tmp_path)
    started.append(process)
    chosen = "httptools" if HAVE_HTTPTOOLS else "h11"
    assert f"plugserve: HTTP engine: {chosen}\n" in lines
    assert _serves(lines)


def test_without_httptools_auto_falls_back_to_h11(
    tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    process, lines = _start(tmp_path, "--http", "auto", python=("-c", WITHOUT_HTTPTOOLS))
    started.append(process)
    assert "plugserve: HTTP engine: h11\n" in lines
    assert _serves(lines)


def test_asking_for_httptools_without_it_is_a_usage_error(tmp_path: Path) -> None:
    site = tmp_path / "site.py"
    site.write_text(SITE)
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_HTTPTOOLS, "--config", str(site), "--http", "httptools"],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert 'pip install "./core[fast]"' in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "plugserve", "--http", "nghttp"], cwd=REPO,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "--http" in result.stderr and "invalid choice" in result.stderr


# -- differential: the same bytes, the same events ---------------------------------------------

DIFF_LIMITS = Limits(max_request_line_bytes=200, max_header_bytes=400, max_header_count=8,
                     max_body_bytes=64)


def _events(cls: type[HTTPConnection], pieces: Sequence[bytes], eof: bool) -> list[object]:
    """Feed `pieces` (then an end of file) as HTTPChannel would: answer each complete request
    with an empty 200, and go on while the connection may be kept.  Body pieces are merged;
    errors compare by status and reason, which is the body text of the error response."""
    conn = cls(DIFF_LIMITS)
    out: list[object] = []

    def handle(events: list[object]) -> bool:
        for event in events:
            if isinstance(event, BodyChunk):
                if out and isinstance(out[-1], bytes):
                    out[-1] += event.data
                else:
                    out.append(bytes(event.data))
            elif isinstance(event, ProtocolError):
                out.append(("error", event.status, event.reason))
                return True
            elif isinstance(event, RequestHead):
                out.append(event)
                out.append(("continue", conn.send_continue()))
            elif isinstance(event, ClientClosed):
                out.append("closed")
                return True
            elif isinstance(event, BodyEnd):
                out.append("end")
                conn.send_head(200, b"OK", [(b"content-length", b"0")])
                conn.send_end()
                out.append(("keep-alive", conn.keep_alive))
                if not conn.keep_alive:
                    return True
                return handle(list(conn.start_next_cycle()))
        return False

    for piece in pieces:
        if handle(list(conn.receive_data(piece))):
            return out
    if eof and not handle(list(conn.receive_data(b""))):
        out.append(("partial", conn.has_partial_head))
    return out


def _cuts(rng: random.Random, data: bytes) -> Iterator[list[bytes]]:
    yield [data]
    yield [data[i:i + 1] for i in range(len(data))]
    cuts = sorted(rng.sample(range(1, len(data)), min(3, len(data) - 1))) if len(data) > 1 else []
    yield [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


BASES = [
    H(b"Host: a"),
    H(b"Host: example.com:80", b"Accept: */*", b"User-Agent: x", start=b"GET /x?y=1 HTTP/1.1"),
    post(b"Content-Length: 5", body=b"hello"),
    chunked(b"5\r\nhello\r\n0\r\n\r\n"),
    b"GET / HTTP/1.0\r\n\r\n",
    post(b"Expect: 100-continue", b"Content-Length: 3", body=b"abc"),
    H(b"Host: a", start=b"OPTIONS * HTTP/1.1"),
    H(b"Host: a:443", start=b"CONNECT a:443 HTTP/1.1"),
    post(b"Upgrade: x", b"Connection: upgrade", b"Content-Length: 2", body=b"hi"),
]
PIECES = [
    b" ", b"\t", b"\r", b"\n", b"\r\n", b":", b",", b"\x00", b"\x01", b"\x0b", b"\x7f", b"\x80",
    b"a", b"5", b";", b'"', b"/", b"Host: b\r\n", b"Content-Length: 3\r\n", b"\r\n\r\n",
    b"Transfer-Encoding: chunked\r\n", b" x\r\n", b"HTTP/2.0", b"HTTP/1.2", b"RTSP/1.0",
    b"Connection: close\r\n", b"Expect: 100-continue\r\n", b"Upgrade: x\r\n", b"get", b"*",
    b"x" * 150, b"A: b\r\n" * 5, b"\n\n", b"Content-Length: 5, 5\r\n", b"Content-Length: 500\r\n",
    b"Content-Length: 000000000000000000003\r\n", b"0" * 18,
    # issue 12's findings: duplicated headers, control bytes, lax chunk lines, empty lines
    b"Host: a\r\n", b"host: a\r\n", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n",
    b"\x1f", b"\x08", b"5 \r\n", b"5;a\rb\r\n", b";\x00", b"\r\n\r\n\r\n", b"http://a@b/",
    b"http://a\"b/", b"HTTP/1.0", b"ffffffffffffffffffff\r\n", b"0\r\n\r\n",
]


def _mutant(rng: random.Random) -> bytes:
    data = bytearray(rng.choice(BASES))
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(data))
        if rng.random() < 0.6:
            data[at:at] = rng.choice(PIECES)
        else:
            del data[at:at + rng.randint(1, 4)]
    if rng.random() < 0.3:
        data += rng.choice(BASES)
    return bytes(data)


#: Mutants per seed: 8 seeds of 750 is the 6,000-request corpus of issue 12's differential run.
MUTANTS_PER_SEED = 750


@needs_httptools
@pytest.mark.parametrize("seed", range(8))
def test_both_engines_give_the_same_events(seed: int) -> None:
    """Every golden-table and laxness row, then seeded random mutations of valid requests, cut
    whole, byte by byte and at random: the httptools engine's events equal h11's."""
    from plugserve._protocol.fast_engine import FastHTTPConnection

    rng = random.Random(seed)
    rows = [param.values[0] for param in (*REQUESTS, *LAXNESS)]
    corpus = rows[seed::8] + [_mutant(rng) for _ in range(MUTANTS_PER_SEED)]
    for data in corpus:
        assert isinstance(data, bytes)
        for pieces in _cuts(rng, data):
            for eof in (True, False):
                reference = _events(HTTPConnection, pieces, eof)
                assert _events(FastHTTPConnection, pieces, eof) == reference, (data, pieces, eof)


# -- the same answers over real sockets ------------------------------------------------------

#: The response headers whose difference a client would notice (Date never matches).
_HEADERS_THAT_MATTER = (b"content-type", b"content-length", b"transfer-encoding", b"connection",
                        b"allow", b"location")


def _answers(server: TestServer, data: bytes) -> list[tuple[object, ...]]:
    """What a client reads back for `data`: each response's status, the headers that matter
    and the body, then whether the connection was closed."""
    raw = server.raw(data, timeout=2, shutdown=True)
    methods = [line.split(b" ", 1)[0] for line in data.split(b"\r\n") if b" HTTP/" in line]
    out: list[tuple[object, ...]] = []
    for response in parse_responses(raw, methods):
        headers = tuple((n, response.all(n)) for n in _HEADERS_THAT_MATTER)
        out.append((response.status, headers, response.body))
    return out


@needs_httptools
def test_both_engines_give_the_same_answers_over_sockets() -> None:
    """The seeded corpus again, through two real servers, one per engine: every response's
    status, the headers that matter and its body text are the same."""
    settings: dict[str, Any] = {
        "max_request_line_bytes": 200, "max_header_bytes": 400, "max_header_count": 8,
        "max_body_bytes": 64, "header_timeout_s": 0.5, "body_timeout_s": 0.5,
    }
    servers = [TestServer(Echo(), http_engine=name, **settings) for name in ("h11", "httptools")]
    try:
        rng = random.Random(12)
        corpus = [_mutant(rng) for _ in range(2000)]
        with ThreadPoolExecutor(8) as pool:
            answers = [list(pool.map(lambda data, s=s: _answers(s, data), corpus)) for s in servers]
        statuses: set[object] = set()
        for data, reference, fast in zip(corpus, *answers, strict=True):
            assert fast == reference, data
            statuses.update(answer[0] for answer in reference)
        assert {200, 400, 431, 501} <= statuses, statuses  # the corpus reaches each kind
    finally:
        for server in servers:
            server.close()
