"""A seeded, bounded fuzz test of both HTTP engines over real sockets.

Case `i` of seed `S` is `make_case(S, i)`, from its own Random (replay: PLUGSERVE_FUZZ_SEED=S
PLUGSERVE_FUZZ_ONLY=i): valid requests (GET, Content-Length or chunked POST, pipelined, HTTP/1.0)
with mutations of a request (framing headers twice, heads past the limits, bad chunk-size lines,
NUL, obs-fold, bare LF or CR) or of the bytes (empty lines before, a CRLF after a body, garbage
after, a flipped byte, truncation).  A request's mutations say if the server must SERVE it (200,
body echoed), must REFUSE it (no 2xx), or may do ANY; a changed byte leaves only the requests
before it known.  Sent whole or in pieces, half-closed or not, the bytes must get strictly valid
responses (no 5xx but 501/505, nothing after `Connection: close`) that agree, and a close in
time; every BATCH cases the logs hold no error or traceback, a GET works, no connection is left.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

import pytest
from plugserve.testing import TestServer, eventually

from tests.test_limits import Echo  # GET: b"hello"; POST: the body back
from tests.wire import ServerFactory, parse_responses

pytestmark = pytest.mark.each_engine  # h11 and httptools (tests/conftest.py)

SEED: Final = int(os.environ.get("PLUGSERVE_FUZZ_SEED", "20260611"))
CASES: Final = int(os.environ.get("PLUGSERVE_FUZZ_CASES", "2000"))
ONLY: Final = os.environ.get("PLUGSERVE_FUZZ_ONLY")
THREADS: Final = int(os.environ.get("PLUGSERVE_FUZZ_THREADS", "32"))
BATCH, SHOW = 200, 30  # cases between two health checks; failures printed in full
HANG_S: Final = 3.0  # the server must have closed by then (its longest timeout is 0.5 s)
HEAD_LIMIT, LINE_LIMIT, COUNT_LIMIT, MAX_BODY = 4096, 2048, 50, 1024
SETTINGS: Final = MappingProxyType(dict(
    max_header_bytes=HEAD_LIMIT, max_request_line_bytes=LINE_LIMIT, max_header_count=COUNT_LIMIT,
    max_body_bytes=MAX_BODY, header_timeout_s=0.5, body_timeout_s=0.5, keepalive_timeout_s=0.5))
SERVE, REFUSE, ANY = "serve", "refuse", "any"
CONTROLS: Final = bytes([*range(0x09), 0x0A, 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
FRAMING: Final = (b"host", b"content-length", b"transfer-encoding")
LOG_MARKS: Final = ("Traceback", "never retrieved", "Task was destroyed")


@dataclass
class Message:
    """A request being mutated: head lines with their ends (the blank line last), the body."""

    head: list[bytes]
    body: bytes = b""
    chunks: list[tuple[bytes, bytes]] | None = None  # (size line, data) of a chunked body
    closes: bool = False  # Connection: close, or HTTP/1.0
    verdicts: list[str] = field(default_factory=list)  # of its mutations

    def wire(self) -> bytes:
        """The request as bytes."""
        chunks = b"".join(size + b"\r\n" + data + b"\r\n" for size, data in self.chunks or [])
        return b"".join(self.head) + (self.body if self.chunks is None else chunks + b"0\r\n\r\n")


@dataclass
class Case:
    """One fuzz case: what is sent, how, and what must come back; then what came, and when."""

    index: int
    data: bytes
    cuts: tuple[int, ...]  # sent in pieces split at these offsets, pause_s apart
    pause_s: float
    shut_wr: bool  # half-closed once sent
    mutations: tuple[str, ...]
    expect: tuple[bytes, ...]  # the bodies of the 200 responses that must come first
    after: str  # then: "nothing" more, the next request "refused", or "unknown"
    raw: bytes = b""
    times: tuple[float, float] = (0.0, 0.0)  # when it was sent, when the server closed
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """The failure, with all it takes to replay it."""
        how = (f"in pieces at {list(self.cuts)}, {self.pause_s} s apart" if self.cuts
               else "in one send") + (", then SHUT_WR" if self.shut_wr else "")
        return (f"case {self.index} (replay: PLUGSERVE_FUZZ_SEED={SEED} PLUGSERVE_FUZZ_ONLY="
                f"{self.index}), mutations {list(self.mutations) or 'none'}, sent {how}\n"
                f"  request:  {repr(self.data)[:300]}\n  response: {repr(self.raw)[:300]}\n"
                + "".join(f"  - {p}\n" for p in self.problems))


def _seed(rng: random.Random, kind: str) -> Message:
    """A valid GET, Content-Length POST or chunked POST."""
    if kind == "get":
        path = rng.choice([b"/", b"/a", b"/a/b?c=d", b"/%41%42", b"http://a/x"])
        lines = [b"GET " + path + b" HTTP/1.1", b"Host: a", b"User-Agent: f", b"Accept: */*"]
        return Message([line + b"\r\n" for line in lines] + [b"\r\n"])
    size = rng.choice([0, 1, 5, rng.randint(2, 300)])
    body = rng.randbytes(size) if rng.random() < 0.5 else bytes(rng.choices(b"ab01 \r\n", k=size))
    head = [b"POST /echo HTTP/1.1\r\n", b"Host: a\r\n"]
    if kind == "post":
        head += [b"Content-Length: %d\r\n" % len(body), b"Content-Type: text/plain\r\n", b"\r\n"]
        return Message(head, body)
    body = body or b"x"
    cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randint(0, 3))))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    return Message([*head, b"Transfer-Encoding: chunked\r\n", b"\r\n"],
                   chunks=[(b"%x" % len(p), p) for p in pieces])


def _insert(rng: random.Random, m: Message, line: bytes) -> None:
    """Insert a header line where it does not take an obs-fold line away from its field."""
    spots = [i for i in range(1, len(m.head)) if m.head[i][:1] not in b" \t"]
    m.head.insert(rng.choice(spots), line + b"\r\n")


def _dup_header(rng: random.Random, m: Message) -> str | None:
    """Host, Transfer-Encoding or Content-Length twice (RFC 9112 §3.2, §6.1; RFC 9110 §8.6)."""
    http11, same = m.head[0].endswith(b" HTTP/1.1\r\n"), rng.random() < 0.5
    choices = [(rng.choice([b"Host: a", b"host: b", b"Host:a:80"]), REFUSE if http11 else ANY)]
    if m.head[0].startswith(b"POST"):
        choices.append((rng.choice([b"Transfer-Encoding: chunked", b"transfer-encoding: gzip"]),
                        REFUSE))
        choices.append((b"Content-Length: %d" % rng.randint(0, 9), REFUSE) if m.chunks else (
            b"content-length: %d" % (len(m.body) + (0 if same else rng.randint(1, 9))),
            SERVE if same else REFUSE))
    line, verdict = rng.choice(choices)
    _insert(rng, m, line)
    return verdict


def _huge(rng: random.Random, m: Message) -> str | None:
    """Past a head limit: a long field value or too many fields (431), a long target (414)."""
    kind = rng.choice(["value", "target", "count"])
    if kind == "value":
        _insert(rng, m, b"X-Huge: " + b"v" * rng.randint(HEAD_LIMIT + 1, 3 * HEAD_LIMIT))
    elif kind == "target":
        m.head[0] = m.head[0].replace(b" ", b" /" + b"a" * rng.randint(LINE_LIMIT, 5000), 1)
    for i in range(COUNT_LIMIT + rng.randint(1, 30)) if kind == "count" else ():
        _insert(rng, m, b"X-%d: 1" % i)
    return REFUSE


def _bad_chunk(rng: random.Random, m: Message) -> str | None:
    """A chunk-size line that is not `1*HEXDIG [ext] CRLF` (RFC 9112 §7.1), or odd but valid."""
    chunks = m.chunks or []
    fresh = [i for i, (size, data) in enumerate(chunks) if size == b"%x" % len(data)]
    if not fresh:  # (changing a line twice could undo the first change)
        return None
    i = rng.choice(fresh)
    n, ctl = b"%x" % len(chunks[i][1]), bytes([rng.choice(CONTROLS)])
    size, verdict = rng.choice([
        (b"-" + n, REFUSE), (b"0x" + n, REFUSE), (b"+" + n, REFUSE), (b" " + n, REFUSE),
        (b"", REFUSE), (b"1" * 21, REFUSE), (b"f" * 17, REFUSE), (b"ffffffff", REFUSE),
        (b"%x" % (MAX_BODY + 1), REFUSE), (n + b"_0", REFUSE), (n + b";a" + ctl + b"b", REFUSE),
        (n + b";a=" + ctl, REFUSE), (n + b";a\rb", ANY), (n + b" ", ANY), (n + b"\t", ANY),
        (n + b";" + b"x" * 2000, ANY), (n + b";name=value", SERVE), (n.upper(), SERVE),
        (b"00" + n, SERVE)])
    chunks[i] = (size, chunks[i][1])
    return verdict


def _nul(rng: random.Random, m: Message) -> str | None:
    """A NUL in the head (RFC 9110 §5.5: refused here), or in a Content-Length body (data)."""
    if m.body and rng.random() < 0.3:
        at = rng.randrange(len(m.body))
        m.body = m.body[:at] + b"\x00" + m.body[at + 1:]
        return SERVE
    i = rng.randrange(len(m.head) - 1)
    at = rng.randrange(len(m.head[i].rstrip(b"\r\n")) + 1)
    m.head[i] = m.head[i][:at] + b"\x00" + m.head[i][at:]
    return REFUSE


def _fold(rng: random.Random, m: Message) -> str | None:
    """An obs-fold line (RFC 9112 §5.2): unfolded, unless it has no field to continue."""
    i = rng.randrange(1, len(m.head))
    m.head.insert(i, rng.choice([b" folded", b"\tfolded", b"  x y", b" "]) + b"\r\n")
    name = m.head[i - 1].split(b":")[0].lower()
    return REFUSE if i == 1 else ANY if name in FRAMING else SERVE


def _line_ends(rng: random.Random, m: Message) -> str | None:
    """Bare LF line ends (accepted, RFC 9112 §2.2), or a bare CR (refused), in the head."""
    kind = rng.choice(["lf", "some-lf", "cr"])
    if kind == "cr":
        i = rng.randrange(len(m.head) - 1)
        m.head[i] = m.head[i].rstrip(b"\r\n") + b"\r"
        return REFUSE
    some = rng.sample(range(len(m.head)), rng.randint(1, 2))
    for i, line in enumerate(m.head):
        if line.endswith(b"\r\n") and (kind == "lf" or i in some):
            m.head[i] = line[:-2] + b"\n"
    return SERVE


# Each mutates one request and returns its verdict, or None where it does not apply.
MESSAGE_MUTATIONS: Final[dict[str, Callable[[random.Random, Message], str | None]]] = {
    "dup-header": _dup_header, "huge": _huge, "bad-chunk": _bad_chunk, "nul": _nul,
    "obs-fold": _fold, "line-ends": _line_ends}
STREAM_MUTATIONS: Final = ("leading-empty-lines", "stray-crlf", "garbage", "flip", "truncate")
GARBAGE: Final = (b"\r\n\r\n", b"GET / HTTP/1.1\r\nHost:", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
                  b"\x00\x00", b"HTTP/1.1 200 OK\r\n", b"POST / HTTP/1.1\r\nHost: a\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\nzz\r\n")


def make_case(seed: int, index: int) -> Case:
    """Case `index` of `seed`: a pure function of the two (the replay path)."""
    rng = random.Random(f"{seed}:{index}")
    messages = [_seed(rng, rng.choice(["get", "post", "chunked"]))
                for _ in range(rng.choice([1, 1, 2, 2, 3]))]
    for m in messages:  # the last request (rarely an earlier one) may end the connection
        if rng.random() < (0.3 if m is messages[-1] else 0.1):
            m.head.insert(-1, rng.choice([b"Connection: close\r\n", b"connection: Close\r\n"]))
            m.closes = True
    if len(messages) == 1 and rng.random() < 0.2:  # HTTP/1.0: chunked is faulty, RFC 9112 §6.1
        messages[0].head[0] = messages[0].head[0].replace(b"HTTP/1.1", b"HTTP/1.0")
        messages[0].closes, messages[0].verdicts = True, [ANY] if messages[0].chunks else []
    names = rng.choices([*MESSAGE_MUTATIONS, *STREAM_MUTATIONS], k=rng.choice([0, 1, 1, 1, 2, 3]))
    done: list[str] = []
    for name in [n for n in names if n in MESSAGE_MUTATIONS]:
        target = rng.choice([m for m in messages if m.chunks or name != "bad-chunk"] or messages)
        if (verdict := MESSAGE_MUTATIONS[name](rng, target)) is not None:
            target.verdicts.append(verdict)
            done.append(name)
    # (owner, bytes): the request whose answer a piece decides; a gap belongs to the next one.
    wires = [m.wire() for m in messages]
    parts = list(enumerate(wires))
    touched = len(messages) + 1  # the first request whose bytes a byte-level mutation changed
    for name in sorted((n for n in names if n in STREAM_MUTATIONS), key=STREAM_MUTATIONS.index):
        data = b"".join(p for _, p in parts)
        posts = [j for j, (i, p) in enumerate(parts) if i < len(messages) and p is wires[i]
                 and messages[i].head[0].startswith(b"POST")]
        if name == "leading-empty-lines":
            parts.insert(0, (0, rng.choice([b"\r\n", b"\n", b"\r\n\r\n", b"\r\n" * 12])))
            touched = 0
        elif name == "stray-crlf" and posts:  # RFC 9112 §2.2: SHOULD be ignored; clients send it
            j = rng.choice(posts)
            parts.insert(j + 1, (parts[j][0] + 1, b"\r\n"))
        elif name == "garbage":
            parts.append((len(messages), rng.choice([rng.randbytes(rng.randint(1, 64)), *GARBAGE])))
            touched = min(touched, len(messages))
        elif name in ("flip", "truncate") and len(data) > 1:
            at = rng.randrange(1, len(data))
            flip = rng.choice([data[at] ^ (1 << rng.randrange(8)), rng.randrange(256)])
            touched = min(touched, _edit(parts, at, bytes([flip]) if name == "flip" else None))
        else:
            continue
        done.append(name)
    data = b"".join(p for _, p in parts)
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 3))))
    return Case(index, data, tuple(cuts) if rng.random() < 0.4 else (),
                rng.choice([0.0, 0.001, 0.01, 0.03]), rng.random() < 0.3, tuple(done),
                *_oracle(messages, touched))


def _edit(parts: list[tuple[int, bytes]], at: int, new: bytes | None) -> int:
    """Put `new` for the byte at offset `at` (None: cut from there); return that byte's owner."""
    for j, (owner, piece) in enumerate(parts):
        if at < len(piece):
            kept = piece[:at] if new is None else piece[:at] + new + piece[at + 1:]
            parts[j:None if new is None else j + 1] = [(owner, kept)]
            return owner
        at -= len(piece)
    raise AssertionError(f"offset {at} past the end")


def _oracle(messages: list[Message], touched: int) -> tuple[tuple[bytes, ...], str]:
    """The 200s due to the first requests, then what follows (ANY > REFUSE > SERVE per request)."""
    expect: list[bytes] = []
    for i, m in enumerate(messages):
        if i >= touched or ANY in m.verdicts:
            return tuple(expect), "unknown"
        if REFUSE in m.verdicts:
            return tuple(expect), "refused"
        chunked = b"".join(data for _, data in m.chunks or [])
        expect.append(b"hello" if m.head[0].startswith(b"GET") else m.body or chunked)
        if m.closes:
            return tuple(expect), "nothing"
    return tuple(expect), "unknown" if touched <= len(messages) else "nothing"


def run_case(server: TestServer, case: Case) -> Case:
    """Send the case on a fresh connection and read until the server closes (or HANG_S)."""
    started, deadline = time.time(), time.monotonic() + HANG_S
    with socket.create_connection((server.host, server.port), timeout=HANG_S) as sock:
        with contextlib.suppress(OSError):  # EPIPE, ECONNRESET: answered early (a limit), closed
            for a, b in zip((0, *case.cuts), (*case.cuts, len(case.data)), strict=True):
                sock.sendall(case.data[a:b])
                time.sleep(case.pause_s if b < len(case.data) else 0)
            if case.shut_wr:
                sock.shutdown(socket.SHUT_WR)
        try:
            while True:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                if not (chunk := sock.recv(65536)):
                    break
                case.raw += chunk
        except (TimeoutError, ConnectionResetError) as exc:  # a reset: closed with bytes unread
            if isinstance(exc, TimeoutError):
                case.problems.append(f"the server did not close the connection within {HANG_S} s")
    case.times = (started, time.time())
    case.problems += check(case, case.raw)
    return case


def check(case: Case, raw: bytes) -> list[str]:
    """What is wrong with `raw` as the answer to `case`."""
    try:
        responses = parse_responses(raw)
    except (AssertionError, ValueError) as exc:
        return [f"not valid HTTP/1.1 responses: {str(exc)[:200]}"]
    problems = []
    for i, r in enumerate(responses):
        if r.status >= 500 and r.status not in (501, 505):
            problems.append(f"status {r.status} (a 5xx other than 501/505 is a server bug)")
        if b"Traceback" in r.body:
            problems.append("a traceback in a response body")
        if r.status < 200 and b"100-continue" not in case.data.lower():
            problems.append(f"interim {r.status} that no Expect asked for")
        if r.closes and i + 1 < len(responses):
            problems.append(f"a response after Connection: close: {[x.status for x in responses]}")
    finals = [(r.status, r.body) for r in responses if r.status >= 200]
    want = [(200, body) for body in case.expect]
    rest = [status for status, _ in finals[len(want):]]
    if (bad := next((i for i, w in enumerate(want) if finals[i:i + 1] != [w]), None)) is not None:
        got = repr(finals[bad][1][:60]) if bad < len(finals) else "nothing"
        problems.append(f"answer {bad + 1} should be 200 {want[bad][1][:60]!r}, got {got}; the "
                        f"statuses: {[status for status, _ in finals]}")
    elif case.after == "nothing" and rest:
        problems.append(f"answered more than the requests sent: extra {rest}")
    elif case.after == "refused" and rest and rest[0] < 400:
        problems.append(f"an invalid request was served: {rest[0]}")
    return list(dict.fromkeys(problems))


class LogWatch(logging.Handler):
    """Keeps every record that shows an error or a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.bad: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR or any(
                mark in record.getMessage() for mark in LOG_MARKS):
            self.bad.append(record)

    def take(self, cases: list[Case]) -> list[str]:
        """The bad records so far, each with the cases that were running when it was logged."""
        bad, self.bad = self.bad, []
        return [f"{r.name} log {r.levelname}: {self.format(r)[:1500]}\n  while cases ran: "
                + str([c.index for c in cases if c.times[0] - 0.1 <= r.created <= c.times[1] + 0.5])
                for r in bad]


@pytest.fixture
def log_watch(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> LogWatch:
    """Watch the asyncio logger and plugserve's records from INFO up (kept out of pytest's
    capture meanwhile: thousands of 400s would flood a failure report)."""
    watch = LogWatch()
    caplog.set_level(logging.INFO, logger="plugserve")
    monkeypatch.setattr(logging.getLogger("plugserve"), "propagate", False)
    for logger in (logging.getLogger("plugserve"), logging.getLogger("asyncio")):
        monkeypatch.setattr(logger, "handlers", [*logger.handlers, watch])
    return watch


def _unhealthy(server: TestServer) -> str | None:
    """Why the server is not fine after a batch (a GET fails, or connections are left open)."""
    if (got := server.get("/")).status != 200 or got.body != b"hello":
        return f"a plain GET got {got.status} {got.body[:100]!r}"
    running = server.server
    assert running is not None
    eventually(lambda: not server.call(lambda: len(running.connections)), timeout=2)
    left = server.call(lambda: len(running.connections))
    return f"{left} connections still open after the batch" if left else None


def test_fuzz(plugserve_server: ServerFactory, log_watch: LogWatch, http_engine: str) -> None:
    """CASES cases (or only PLUGSERVE_FUZZ_ONLY) against one server, THREADS at a time."""
    server = plugserve_server(Echo(), **SETTINGS)
    cases = [make_case(SEED, i) for i in ([int(ONLY)] if ONLY else range(CASES))]
    failures: list[str] = []
    with ThreadPoolExecutor(THREADS) as pool:
        for first in range(0, len(cases), BATCH):
            done = list(pool.map(lambda c: run_case(server, c), cases[first:first + BATCH]))
            failures += [c.describe() for c in done if c.problems] + log_watch.take(done)
            if unhealthy := _unhealthy(server):
                failures.append(f"after cases {first}..{first + BATCH - 1}: {unhealthy}")
                break
    if failures:
        more = f"... and {len(failures) - SHOW} more\n" if len(failures) > SHOW else ""
        pytest.fail(f"{len(failures)} failures, seed {SEED}, engine {http_engine}, {len(cases)} "
                    "cases:\n" + "\n".join(failures[:SHOW]) + more, pytrace=False)
