"""Slow-client denial-of-service runs against a plugserve server that this script starts.

Is a server under a slow-client attack still serving normal requests, and how fast? Each
scenario gets a fresh `python -m plugserve` on 127.0.0.1 (port 0, read back from its "listening
on" line) serving /hello, /static/big.bin (a large file) and /app/ (a WSGI app that reads its
whole body). N attackers connect; once all have tried, a probe GETs /hello on a fresh
connection every 0.5 s (5 s timeout) for --duration seconds; the attackers stay 5 s longer, so
that no probe is answered because they left. The report says what became of the attackers
(answers such as 408; closes, and when), how the probes went, and gives a verdict line:
"verdict: normal requests served: 60/60, p50 1.2 ms, p99 4.0 ms".

    slowloris       partial request heads, one byte every 3 s
    idle            kept-alive connections that made one request and then sit idle
    never-read      GET the big file and never read (SO_RCVBUF 4 KiB); when the server closes
                    them is seen from its end of each connection, in /proc/net/tcp
    slow-wsgi-body  POST to the WSGI app, Content-Length 1 MB, one byte every 5 s; /app/ is
                    probed too, because these clients hold the app's threads

Linux only; not run by CI. From the repository root:

    .venv/bin/python bench/stress.py --scenarios never-read --duration 40
    .venv/bin/python bench/stress.py --scenarios never-read --never-read-count 1030 \\
        --duration 40 --server-args="--send-timeout 10"

The server gets --config, --listen, --no-access-log and --max-connections, then --server-args
(shlex-split and appended, so they win). never-read uses --max-connections (default 1024, the
server's): more attackers than that show whether a normal client gets in once a send timeout
frees slots; the others get max(1024, N + 64). A probe refused with 503 often shows as
ConnectionResetError: the server closed with the request unread, and its RST overtook the 503.
The exit status is 0 whatever the server did, 1 if the script could not run (the server would
not start), 130 on Ctrl-C or SIGTERM (the server is stopped then too).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import resource
import shlex
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

HOST: Final = "127.0.0.1"
LISTEN: Final = "tcp:0:interface=127.0.0.1"
LISTENING: Final = "plugserve: listening on http://"
PROBE_INTERVAL_S: Final = 0.5
PROBE_TIMEOUT_S: Final = 5.0
CONNECT_TIMEOUT_S: Final = 5.0
CONNECT_CONCURRENCY: Final = 100  # connects in flight at once, far below the backlog (1024)
START_TIMEOUT_S: Final = 20.0
STOP_GRACE_S: Final = 5.0
MONITOR_INTERVAL_S: Final = 0.5
SLOWLORIS_INTERVAL_S: Final = 3.0
WSGI_INTERVAL_S: Final = 5.0
WSGI_BODY_BYTES: Final = 1_000_000
NEVER_READ_RCVBUF: Final = 4096
# /proc/net/tcp states (include/net/tcp_states.h) in which the server still holds a connection.
OPEN_STATES: Final = frozenset({"01", "03"})  # ESTABLISHED, SYN_RECV

SITE_PY: Final = '''\
from plugserve.resource import Resource
from plugserve_static import File
from plugserve_wsgi import WSGIResource

class Hello(Resource):
    isLeaf = True
    def render_GET(self, request):
        return b"Hello, world!\\n"

def application(environ, start_response):
    size = len(environ["wsgi.input"].read())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"read %d bytes\\n" % size]

root = Resource()
root.putChild(b"hello", Hello())
root.putChild(b"static", File(STATIC_DIR))
root.putChild(b"app", WSGIResource(None, None, application))
'''


@dataclass
class Attacker:
    """What became of one attacking connection; times are seconds since it connected."""

    connected: bool = False
    error: str | None = None  # why it could not connect
    port: int = 0  # its local port: how its server end is found in /proc/net/tcp
    connected_at: float = 0.0
    status: int | None = None  # of the first answer the server sent it
    closed_after_s: float | None = None  # when the server closed (or reset) it
    reset: bool = False


@dataclass(frozen=True)
class Probe:
    """One normal request: served (200) or not, how long it took, and what it got."""

    ok: bool
    latency_s: float
    outcome: str


def log(message: str) -> None:
    """Progress goes to stderr, so that stdout holds only the report."""
    print(f"[stress] {message}", file=sys.stderr, flush=True)


def parse_status(head: bytes) -> int | None:
    """The status code of a response that starts with `head`, once its status line is in."""
    line, crlf, _ = head.partition(b"\r\n")
    parts = line.split(b" ", 2)
    return int(parts[1]) if crlf and len(parts) > 1 and parts[1].isdigit() else None


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted `values`."""
    return values[max(0, math.ceil(fraction * len(values)) - 1)]


def write_site(workdir: Path, big_file_bytes: int) -> Path:
    """Write the --config file and a sparse big file for it to serve; return the config path."""
    (workdir / "static").mkdir()
    with (workdir / "static" / "big.bin").open("wb") as big:
        big.truncate(big_file_bytes)
    site = workdir / "site.py"
    site.write_text(SITE_PY.replace("STATIC_DIR", repr(str(workdir / "static"))))
    return site


async def start_server(site: Path, name: str, args: list[str], server_log: Path
                       ) -> tuple[asyncio.subprocess.Process, int]:
    """Start plugserve, its output going to `server_log`, and read its port back from the
    listening line there (never "find a free port, then bind"); SystemExit if it fails."""
    command = [sys.executable, "-m", "plugserve", "--config", str(site), "--listen", LISTEN,
               "--no-access-log", *args]
    log(f"{name}: starting {shlex.join(command)}")
    with server_log.open("wb") as output:  # a file, not a pipe: nothing to drain later
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=output,
            stderr=asyncio.subprocess.STDOUT, cwd=site.parent)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while process.returncode is None and time.monotonic() < deadline:
            for line in server_log.read_text(errors="replace").split("\n")[:-1]:
                if line.startswith(LISTENING):
                    return process, int(line.rsplit(":", 1)[1])
            await asyncio.sleep(0.05)
    except BaseException:
        await stop_server(process)
        raise
    await stop_server(process)
    raise SystemExit(f"stress: error: plugserve did not start (status {process.returncode}):\n"
                     + tail(server_log))


async def stop_server(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if the graceful stop takes longer than STOP_GRACE_S."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE_S)
        except TimeoutError:
            log(f"server pid {process.pid} still running {STOP_GRACE_S:g} s after SIGTERM: SIGKILL")
            process.kill()
            await process.wait()


def tail(path: Path, lines: int = 5) -> str:
    """The last lines of the server's stderr, to show what it said."""
    return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])


def raise_fd_limit(needed: int) -> None:
    """Raise our RLIMIT_NOFILE to the hard limit: the server inherits it, and needs as many."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:  # -1, which max() would get wrong
        return
    soft = max(soft, needed if hard == resource.RLIM_INFINITY else hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft < needed:
        log(f"warning: RLIMIT_NOFILE is {soft}, below the {needed} file descriptors needed")


class Run:
    """What one scenario's attackers and probes share: the port, the connect gate, the clock.
    Probing starts once every attacker has tried to connect (the attack at full strength, not
    a server with slots still free); attackers stay PROBE_TIMEOUT_S past its end."""

    def __init__(self, port: int, attackers: int, duration: float) -> None:
        self.port, self.left, self.duration, self.end = port, attackers + 1, duration, math.inf
        self.gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        self.started = asyncio.Event()
        self.attempted()  # the +1: with no attackers at all, the clock starts now

    def attempted(self) -> None:
        """One attacker has connected or failed to; the last one starts the clock."""
        self.left -= 1
        if self.left == 0:
            self.end = time.monotonic() + self.duration
            self.started.set()

    async def probing(self) -> float:
        """Wait for the start; return when the probing ends (+ PROBE_TIMEOUT_S: attackers)."""
        await self.started.wait()
        return self.end


async def connect(run: Run, attacker: Attacker, rcvbuf: int = 0) -> socket.socket | None:
    """A non-blocking socket connected to the server, or None (the reason is in `attacker`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf:  # before connect, so that the window offered is small from the start
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        async with run.gate, asyncio.timeout(CONNECT_TIMEOUT_S):
            await asyncio.get_running_loop().sock_connect(sock, (HOST, run.port))
    except (OSError, TimeoutError) as exc:
        sock.close()
        attacker.error = type(exc).__name__
        return None
    except BaseException:
        sock.close()
        raise
    finally:
        run.attempted()
    attacker.port = sock.getsockname()[1]
    attacker.connected, attacker.connected_at = True, time.monotonic()
    return sock


async def watch_answers(reader: asyncio.StreamReader, attacker: Attacker) -> None:
    """Read what the server sends until it closes; note the first status and when it closed."""
    head = b""
    try:
        while chunk := await reader.read(65536):
            if attacker.status is None and len(head) < 1024:
                head += chunk
                attacker.status = parse_status(head)
    except OSError:
        attacker.reset = True
    attacker.closed_after_s = time.monotonic() - attacker.connected_at


async def stream_attack(run: Run, attacker: Attacker, first: bytes, trickle: bytes,
                        interval: float) -> None:
    """Connect, send `first`, then one byte of `trickle` every `interval` s until the end or
    until the server closes the connection, reading (and noting) all it answers."""
    sock = await connect(run, attacker)
    if sock is None:
        return
    reader, writer = await asyncio.open_connection(sock=sock)
    watch = asyncio.create_task(watch_answers(reader, attacker))
    try:
        end = await run.probing() + PROBE_TIMEOUT_S
        writer.write(first)
        sent = 0
        while not watch.done() and (left := end - time.monotonic()) > 0:
            if sent < len(trickle):
                writer.write(trickle[sent:sent + 1])
                sent += 1
            await asyncio.wait({watch}, timeout=min(interval, left))
    finally:
        watch.cancel()
        writer.close()
        with contextlib.suppress(asyncio.CancelledError):
            await watch


async def slowloris(run: Run, attacker: Attacker) -> None:
    """A request head sent a byte at a time, never finished (and under --max-header-bytes)."""
    head = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slowloris: " + b"a" * 8000
    await stream_attack(run, attacker, b"", head, SLOWLORIS_INTERVAL_S)


async def idle(run: Run, attacker: Attacker) -> None:
    """One request on a kept-alive connection, then silence."""
    await stream_attack(run, attacker, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", b"", math.inf)


async def slow_wsgi_body(run: Run, attacker: Attacker) -> None:
    """A 1 MB POST to the WSGI app, whose body comes one byte every WSGI_INTERVAL_S."""
    head = (b"POST /app/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\n\r\n" % WSGI_BODY_BYTES)
    await stream_attack(run, attacker, head, b"x" * WSGI_BODY_BYTES, WSGI_INTERVAL_S)


async def never_read(run: Run, attacker: Attacker) -> None:
    """GET the big file on a raw socket with a small receive buffer and never recv(); at the
    end, peek at the status line. When the server closed it is watch_server_side's job."""
    sock = await connect(run, attacker, NEVER_READ_RCVBUF)
    if sock is None:
        return
    with sock:
        try:
            await asyncio.get_running_loop().sock_sendall(
                sock, b"GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            await asyncio.sleep(max(0.0, await run.probing() + PROBE_TIMEOUT_S - time.monotonic()))
            attacker.status = parse_status(sock.recv(256, socket.MSG_PEEK))
        except BlockingIOError:
            pass  # nothing arrived at all
        except OSError:
            attacker.reset = True


def server_side_states(port: int) -> dict[int, str]:
    """{client port: state} of the server's end of each connection to 127.0.0.1:`port`."""
    local = f"0100007F:{port:04X}"
    states: dict[int, str] = {}
    with open("/proc/net/tcp") as table:
        next(table)
        for fields in (line.split() for line in table if f" {local} " in line):
            client = int(fields[2].rsplit(":", 1)[1], 16)
            if fields[1] == local and states.get(client) not in OPEN_STATES:  # beat TIME_WAIT
                states[client] = fields[3]
    return states


async def watch_server_side(run: Run, attackers: list[Attacker]) -> None:
    """Mark a never-read attacker closed once the server's end of it is no longer open (the
    client cannot see that: the server's FIN waits behind data the client never reads)."""
    end = await run.probing() + PROBE_TIMEOUT_S
    while time.monotonic() < end:
        states = await asyncio.to_thread(server_side_states, run.port)
        now = time.monotonic()
        for attacker in attackers:
            if (attacker.connected and attacker.closed_after_s is None
                    and states.get(attacker.port) not in OPEN_STATES):
                attacker.closed_after_s = now - attacker.connected_at
        await asyncio.sleep(MONITOR_INTERVAL_S)


AttackFn = Callable[[Run, Attacker], Coroutine[Any, Any, None]]
# name: (attack, default count, paths probed)
SCENARIOS: Final[dict[str, tuple[AttackFn, int, tuple[str, ...]]]] = {
    "slowloris": (slowloris, 1000, ("/hello",)),
    "idle": (idle, 1000, ("/hello",)),
    "never-read": (never_read, 1000, ("/hello",)),
    "slow-wsgi-body": (slow_wsgi_body, 8, ("/hello", "/app/")),
}


async def probe_once(port: int, path: str) -> Probe:
    """GET `path` on a fresh connection; served means a 200 within PROBE_TIMEOUT_S."""
    start = time.monotonic()
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            status = parse_status(await reader.read())
    except (OSError, TimeoutError) as exc:
        return Probe(False, time.monotonic() - start, type(exc).__name__)
    finally:
        if writer is not None:
            writer.close()
    outcome = "closed without answer" if status is None else str(status)
    return Probe(status == 200, time.monotonic() - start, outcome)


async def run_probes(run: Run, paths: tuple[str, ...]) -> dict[str, list[Probe]]:
    """Once the run starts, start one probe per path every PROBE_INTERVAL_S until its end, on
    a fixed schedule (a slow probe does not delay the next one), and collect them all."""
    end = await run.probing()
    tasks: dict[str, list[asyncio.Task[Probe]]] = {path: [] for path in paths}
    tick = time.monotonic()
    while tick < end:
        for path in paths:
            tasks[path].append(asyncio.create_task(probe_once(run.port, path)))
        tick += PROBE_INTERVAL_S
        await asyncio.sleep(max(0.0, tick - time.monotonic()))
    return {path: list(await asyncio.gather(*started)) for path, started in tasks.items()}


async def attack(name: str, count: int, port: int, duration: float
                 ) -> tuple[list[Attacker], dict[str, list[Probe]]]:
    """Run the scenario's attackers, and the probes beside them for `duration` seconds."""
    attack_fn, _, paths = SCENARIOS[name]
    run = Run(port, count, duration)
    attackers = [Attacker() for _ in range(count)]
    async with asyncio.TaskGroup() as group:
        for attacker in attackers:
            group.create_task(attack_fn(run, attacker))
        if name == "never-read":
            group.create_task(watch_server_side(run, attackers))
        probes = group.create_task(run_probes(run, paths))
    return attackers, probes.result()


def counts(counter: Counter[str]) -> str:
    """`408 x1000, 503 x6`, most common first."""
    return ", ".join(f"{key} x{n}" for key, n in counter.most_common()) or "none"


def probe_line(path: str, probes: list[Probe]) -> tuple[str, str]:
    """The detail line of one probed path, and its part of the verdict."""
    served = sorted(p.latency_s * 1000 for p in probes if p.ok)
    failures = counts(Counter(p.outcome for p in probes if not p.ok))
    verdict = f"{len(served)}/{len(probes)}"
    if served:
        verdict += f", p50 {percentile(served, 0.5):.1f} ms, p99 {percentile(served, 0.99):.1f} ms"
    detail = f", max {served[-1]:.1f} ms" if served else ""
    failed = f" (failed: {failures})" if failures != "none" else ""
    return f"probe GET {path}: {verdict}{detail}; failures: {failures}", verdict + failed


def report(name: str, attackers: list[Attacker], probes: dict[str, list[Probe]],
           server_log: Path) -> None:
    """Print what became of the attackers and the probes, then the one-line verdict."""
    connected = [a for a in attackers if a.connected]
    closed = sorted(a.closed_after_s for a in connected if a.closed_after_s is not None)
    errors = Counter(a.error for a in attackers if a.error is not None)
    print(f"attackers connected: {len(connected)}/{len(attackers)}"
          + (f" (failed: {counts(errors)})" if errors else ""))
    answers = Counter(str(a.status) for a in connected if a.status is not None)
    print(f"server answers to attackers: {counts(answers)}")
    when = (f", after median {percentile(closed, 0.5):.1f} s, max {closed[-1]:.1f} s from "
            "connecting" if closed else "")
    seen = " (its end, in /proc/net/tcp every 0.5 s)" if name == "never-read" else ""
    resets = sum(a.reset for a in connected)
    print(f"closed by server{seen}: {len(closed)}{when}" + (f"; by reset: {resets}" * bool(resets))
          + f"; still open at the end: {len(connected) - len(closed)}")
    verdicts = []
    for path, results in probes.items():
        line, verdict = probe_line(path, results)
        print(line)
        verdicts.append(f"{path} served: {verdict}")
    lines = server_log.read_text(errors="replace").splitlines()
    print(f"server output: {len(lines)} lines" + (f"; last: {lines[-1][:150]}" * bool(lines)))
    verdicts[0] = "normal requests served: " + verdicts[0].split(": ", 1)[1]
    print("verdict: " + "; ".join(verdicts) + "\n", flush=True)


async def run_scenario(site: Path, name: str, count: int, max_connections: int,
                       args: argparse.Namespace) -> None:
    """Start a server, attack and probe it, report, and stop the server whatever happens."""
    server_log = site.parent / f"server-{name}.log"
    server_args = ["--max-connections", str(max_connections), *shlex.split(args.server_args)]
    process, port = await start_server(site, name, server_args, server_log)
    try:
        log(f"{name}: {count} attackers against port {port}, probed for {args.duration:g} s")
        attackers, probes = await attack(name, count, port, args.duration)
        print(f"== {name}: {count} attackers, --max-connections {max_connections}, probed for "
              f"{args.duration:g} s, server args: {args.server_args or '-'} ==")
        report(name, attackers, probes, server_log)
        if process.returncode is not None:
            print(f"SERVER EXITED during the run, status {process.returncode}:\n"
                  + tail(server_log) + "\n")
    finally:
        await stop_server(process)


async def run_all(args: argparse.Namespace, names: list[str]) -> None:
    """Each scenario, one after the other, each against a fresh server in one temp dir.
    SIGTERM cancels the run as Ctrl-C does, so that the server is stopped either way."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    with tempfile.TemporaryDirectory(prefix="plugserve-stress-") as workdir:
        site = write_site(Path(workdir), args.big_file_mib << 20)
        for name in names:
            count = getattr(args, name.replace("-", "_") + "_count")
            limit = args.max_connections if name == "never-read" else max(1024, count + 64)
            await run_scenario(site, name, count, limit, args)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the scenarios: 0, or 1 if the server would not start,
    130 if interrupted."""
    parser = argparse.ArgumentParser(
        description="Slow-client DoS runs against a plugserve server started on 127.0.0.1; "
                    "prints whether normal requests were still served, and how fast.")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated, from {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--duration", type=float, default=30.0,
                        help="seconds each scenario is probed (default 30)")
    for name, (_, default, _) in SCENARIOS.items():
        parser.add_argument(f"--{name}-count", type=int, default=default, metavar="N",
                            help=f"attacking connections in {name} (default {default})")
    parser.add_argument("--max-connections", type=int, default=1024, metavar="N",
                        help="the server's --max-connections in never-read (default 1024, the "
                             "server's default); the others get max(1024, their N + 64)")
    parser.add_argument("--big-file-mib", type=int, default=50, metavar="MIB",
                        help="size of the static file never-read asks for (default 50)")
    parser.add_argument("--server-args", default="", metavar="ARGS",
                        help="more plugserve flags, shlex-split and appended, e.g. "
                             '--server-args="--send-timeout 10 --header-timeout 5"')
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    if not names or any(name not in SCENARIOS for name in names):
        parser.error(f"--scenarios {args.scenarios}: known ones are {', '.join(SCENARIOS)}")
    raise_fd_limit(max(getattr(args, n.replace("-", "_") + "_count") for n in names) + 256)
    try:
        asyncio.run(run_all(args, names))
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, SIGTERM
        log("interrupted; the server was stopped")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
