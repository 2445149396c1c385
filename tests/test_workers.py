"""`--workers N`: a supervisor process, N workers sharing its listening sockets, crash restarts,
reload on SIGHUP, graceful stop on SIGTERM, and one whole access-log line per request.

Every test runs the real command (`python -m plugserve ... --workers 2`) and finds the workers
as the supervisor's child processes in /proc."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from plugserve._log import AccessLog
from plugserve._workers.start import LoadBoard
from plugserve.testing import eventually

from tests.cli_helpers import LOOPBACK, REPO, Running, plugserve_command, running

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

#: Answers with the pid of the worker that serves it.  /block holds that worker's event loop
#: (so the next connection must go to another worker), /slow answers after t seconds without
#: blocking, and /crash makes the worker exit.  MARKER names a file written when /block or
#: /slow starts, so a test knows the request has arrived.
PID_SITE = """\
import os, time
from plugserve import reactor
from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET

BODY = b"pid "

class Pid(Resource):
    isLeaf = True
    def render_GET(self, request):
        seconds = float(request.args.get(b"t", [b"1"])[0])
        if request.path in (b"/block", b"/slow") and os.environ.get("MARKER"):
            with open(os.environ["MARKER"], "w") as f:
                f.write(str(os.getpid()))
        if request.path == b"/crash":
            os._exit(3)
        if request.path == b"/boom":
            raise RuntimeError("kaboom")
        if request.path == b"/block":
            time.sleep(seconds)
        if request.path == b"/slow":
            def done():
                request.write(BODY + str(os.getpid()).encode())
                request.finish()
            reactor.callLater(seconds, done)
            return NOT_DONE_YET
        return BODY + str(os.getpid()).encode()

root = Pid()
"""

LOG_LINE = re.compile(
    r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /n/\d+ HTTP/1\.1" 200 \d+ '
    r'"-" "worker-test"'
)


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 20) -> None:
    assert eventually(predicate, timeout), f"timed out waiting for {what}"


def children(pid: int) -> set[int]:
    """The live (not zombie) child processes of `pid`."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


def address(server: Running) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def get(server: Running, path: str = "/", timeout: float = 10) -> tuple[int, bytes]:
    """One request on a new connection."""
    connection = http.client.HTTPConnection(*address(server), timeout=timeout)
    try:
        connection.request("GET", path, headers={"Connection": "close",
                                                 "User-Agent": "worker-test"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def pid_of(body: bytes) -> int:
    assert body.startswith(b"pid "), body
    return int(body[4:])


def workers_of(server: Running, count: int = 2) -> set[int]:
    """The supervisor's workers, once there are `count` of them."""
    wait_for(lambda: len(children(server.process.pid)) == count, f"{count} workers")
    return children(server.process.pid)


@pytest.fixture
def pid_site(tmp_path: Path) -> Path:
    config = tmp_path / "site.py"
    config.write_text(PID_SITE)
    return config


@contextmanager
def supervisor(config: Path, *extra: str, env: dict[str, str] | None = None,
               workers: int = 2) -> Iterator[Running]:
    args = ["--config", str(config), "--listen", LOOPBACK, "--workers", str(workers),
            "--no-access-log", *extra]
    with running(args, env=env) as server:
        yield server


def reload(server: Running) -> set[int]:
    """SIGHUP, and wait until every worker has been replaced; return the new ones."""
    old = workers_of(server)
    server.process.send_signal(signal.SIGHUP)
    wait_for(lambda: not (children(server.process.pid) & old)
             and len(children(server.process.pid)) == 2, "the reload")
    return children(server.process.pid)


def answering_pid_while_one_is_blocked(server: Running, marker: Path) -> tuple[int, int]:
    """(pid of the worker blocked in /block, pid of the one that answered meanwhile)."""
    marker.unlink(missing_ok=True)
    result: dict[str, bytes] = {}

    def blocked() -> None:
        result["body"] = get(server, "/block?t=1.5")[1]

    thread = threading.Thread(target=blocked)
    thread.start()
    try:
        wait_for(lambda: marker.exists() and marker.read_text(), "the /block request")
        status, body = get(server, "/")
        assert status == 200
    finally:
        thread.join(10)
    assert pid_of(result["body"]) == int(marker.read_text())
    return int(marker.read_text()), pid_of(body)


# -- tests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_workers_below_one_is_a_usage_error(value: str) -> None:
    result = plugserve_command("--config", "examples/site.py", "--workers", value)
    assert result.returncode == 2
    assert "--workers" in result.stderr and "above 0" in result.stderr


def test_an_address_in_use_is_a_usage_error_and_no_worker_starts(tmp_path: Path) -> None:
    pidfile = tmp_path / "plugserve.pid"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = plugserve_command("--config", "examples/site.py", "--workers", "2",
                                   "--listen", f"tcp:{port}:interface=127.0.0.1",
                                   "--pidfile", str(pidfile))
    assert result.returncode == 2
    assert "plugserve: error: cannot listen: " in result.stderr
    assert "address already in use" in result.stderr and "worker" not in result.stderr
    assert not pidfile.exists()


def test_each_worker_is_a_process_of_its_own(pid_site: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    with supervisor(pid_site, env={"MARKER": str(marker)}) as server:
        workers = workers_of(server)
        blocked, other = answering_pid_while_one_is_blocked(server, marker)
        assert blocked != other and {blocked, other} == workers
        assert server.process.pid not in workers
        assert get(server, "/boom")[0] == 500
        code, out, err = server.stop()
    assert code == 0
    assert out == ""  # the listening lines were printed once, before `running` returned
    assert err.count("plugserve: shutting down") == 1
    assert "[plugserve] INFO: 2 workers serving" in err
    # The error log of a worker names it.
    logged_by = re.search(r"\[plugserve (\d+)\] ERROR: ", err)
    assert logged_by is not None and int(logged_by.group(1)) in workers


def test_connections_opened_together_are_spread_over_the_workers(pid_site: Path) -> None:
    # Every worker wakes for a connection and the first awake would take most of them; the
    # load board makes a busier worker leave connections to the others (least connections).
    with supervisor(pid_site) as server:
        workers = workers_of(server)
        connections = [socket.create_connection(address(server), timeout=10) for _ in range(40)]
        served_by: list[int] = []
        try:
            for connection in connections:
                connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            for connection in connections:
                answer = b""
                while chunk := connection.recv(4096):
                    answer += chunk
                served_by.append(pid_of(answer.split(b"\r\n\r\n", 1)[1]))
        finally:
            for connection in connections:
                connection.close()
        server.stop()
    assert set(served_by) == workers
    # asyncio's way gave up to all 40 to one worker; with the board, 20-28 typically, and a
    # bound of 30 failed about one run in twenty on this 2-core VM (32 seen).
    assert max(served_by.count(pid) for pid in workers) <= 35


def test_the_load_board_says_accept_unless_another_worker_has_fewer() -> None:
    board = LoadBoard(3)
    gate = board.accept_gate(0)
    assert board.free() == {0, 1, 2}
    assert gate(5)  # nobody else accepts
    board.post(1, 3)
    board.post(2, LoadBoard.IDLE)  # a worker starting or stopping does not count
    assert not gate(4) and gate(3) and gate(0)
    assert board.free() == set()


def test_a_killed_worker_is_replaced(pid_site: Path) -> None:
    with supervisor(pid_site) as server:
        workers = workers_of(server)
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: victim not in children(server.process.pid)
                 and len(children(server.process.pid)) == 2, "a new worker")
        replacement = children(server.process.pid) - workers
        assert len(replacement) == 1
        for _ in range(20):
            assert get(server)[0] == 200
        code, _, err = server.stop()
    assert code == 0
    assert f"worker {victim} was killed by signal 9 (SIGKILL); starting a new one" in err


def test_sighup_replaces_every_worker_and_no_request_fails(pid_site: Path) -> None:
    with supervisor(pid_site) as server:
        old = workers_of(server)
        stop = threading.Event()
        outcomes: list[object] = []

        def hammer() -> None:
            while not stop.is_set():
                try:
                    status, body = get(server)
                    outcomes.append((status, pid_of(body)))
                except (OSError, http.client.HTTPException) as exc:
                    outcomes.append(exc)

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            wait_for(lambda: len(outcomes) > 20, "requests before the reload")
            new = reload(server)
            count = len(outcomes)
            wait_for(lambda: len(outcomes) > count + 20, "requests after the reload")
        finally:
            stop.set()
            for thread in threads:
                thread.join(15)
        code, _, err = server.stop()
    failures = [o for o in outcomes if not (isinstance(o, tuple) and o[0] == 200)]
    assert not failures, failures[:5]
    served_by = {o[1] for o in outcomes if isinstance(o, tuple)}
    assert served_by & new and served_by <= old | new
    assert code == 0
    assert "reloaded: workers" in err


def test_reload_rereads_the_config_file_and_a_broken_one_keeps_the_old_workers(
    pid_site: Path,
) -> None:
    with supervisor(pid_site) as server:
        old = workers_of(server)
        pid_site.write_text(PID_SITE + "raise RuntimeError('broken on purpose')\n")
        server.process.send_signal(signal.SIGHUP)
        assert server.process.stderr is not None
        said = []
        for line in server.process.stderr:
            said.append(line)
            if "reload failed" in line:
                break
        assert "broken on purpose" in "".join(said)  # the new worker said why
        wait_for(lambda: children(server.process.pid) == old, "the failed new workers to exit")
        assert get(server)[1].startswith(b"pid ")

        pid_site.write_text(PID_SITE.replace('BODY = b"pid "', 'BODY = b"new "'))
        server.process.send_signal(signal.SIGHUP)
        wait_for(lambda: get(server)[1].startswith(b"new "), "the new configuration")
        wait_for(lambda: not (children(server.process.pid) & old), "the old workers to stop")
        code, _, _ = server.stop()
    assert code == 0


def test_sigterm_lets_requests_in_flight_finish_then_exits_0(
    pid_site: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    pidfile = tmp_path / "plugserve.pid"
    with supervisor(pid_site, "--shutdown-timeout", "5", "--pidfile", str(pidfile),
                    env={"MARKER": str(marker)}) as server:
        assert int(pidfile.read_text()) == server.process.pid  # the supervisor's
        workers = workers_of(server)
        result: dict[str, tuple[int, bytes]] = {}

        def slow() -> None:
            result["answer"] = get(server, "/slow?t=1")

        thread = threading.Thread(target=slow)
        thread.start()
        wait_for(marker.exists, "the slow request")
        server.process.send_signal(signal.SIGTERM)
        thread.join(10)
        code, _, err = server.stop()
    status, body = result["answer"]
    assert status == 200 and pid_of(body) == int(marker.read_text())
    assert code == 0
    assert err.count("plugserve: shutting down") == 1
    assert not any(alive(pid) for pid in workers)
    assert not pidfile.exists()


def test_workers_stop_when_the_supervisor_is_killed(pid_site: Path) -> None:
    with supervisor(pid_site) as server:
        workers = workers_of(server)
        server.process.kill()
        # The workers hold the command's stdout and stderr too: EOF on them means they are gone.
        server.process.communicate(timeout=20)
        wait_for(lambda: not any(alive(pid) for pid in workers), "the orphaned workers to stop")


def test_a_crash_loop_gives_up_with_status_1(pid_site: Path) -> None:
    with supervisor(pid_site) as server:
        deadline = time.monotonic() + 30
        while server.process.poll() is None:
            assert time.monotonic() < deadline, "the supervisor did not give up"
            try:
                get(server, "/crash", timeout=2)
            except (OSError, http.client.HTTPException):
                pass
        code, _, err = server.stop()
    assert code == 1
    assert "exited with status 3; starting a new one" in err
    assert "giving up" in err


def test_a_worker_that_cannot_start_stops_the_supervisor(tmp_path: Path) -> None:
    # The supervisor runs the file (to check it) before any worker does: only workers fail.
    flag = tmp_path / "ran-once"
    config = tmp_path / "site.py"
    config.write_text(
        "import os, pathlib\n"
        "from plugserve.resource import Resource\n"
        f"flag = pathlib.Path({str(flag)!r})\n"
        "if flag.exists():\n"
        "    os._exit(3)\n"
        "flag.write_text('supervisor')\n"
        "root = Resource()\n"
    )
    result = plugserve_command("--config", str(config), "--listen", LOOPBACK, "--workers", "2")
    assert result.returncode == 1
    assert "exited with status 3 while starting" in result.stderr
    assert "listening on" not in result.stdout


@pytest.mark.parametrize("destination", ["file", "stdout"])
def test_access_log_has_one_whole_line_per_request(
    pid_site: Path, tmp_path: Path, destination: str
) -> None:
    logfile = tmp_path / "access.log"
    target = str(logfile) if destination == "file" else "-"
    args = ["--config", str(pid_site), "--listen", LOOPBACK, "--workers", "2", "--logfile", target]
    total, clients = 600, 6
    with running(args) as server:
        assert server.process.stdout is not None
        stdout_lines: list[str] = []
        reader = threading.Thread(target=lambda: stdout_lines.extend(server.process.stdout or ()))
        reader.start()
        served_by: set[int] = set()

        def client(first: int) -> None:
            for n in range(first, total, clients):  # a connection each: both workers serve
                status, body = get(server, f"/n/{n}")
                assert status == 200
                served_by.add(pid_of(body))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        server.process.send_signal(signal.SIGTERM)
        reader.join(20)  # until EOF: every process writing to stdout has exited
        code, _, _ = server.stop()
    assert code == 0 and len(served_by) == 2
    lines = logfile.read_text().splitlines() if destination == "file" else stdout_lines
    lines = [line.rstrip("\n") for line in lines]
    bad = [line for line in lines if not LOG_LINE.fullmatch(line)]
    assert not bad, bad[:5]
    numbers = sorted(int(line.split("/n/")[1].split()[0]) for line in lines)
    assert numbers == list(range(total))


def test_access_log_writes_whole_lines_of_at_most_pipe_buf_to_a_shared_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A SOCK_SEQPACKET socket keeps each write() a message of its own, so the test sees the
    # writes; like a pipe, a socket gets writes of at most PIPE_BUF bytes of whole lines.
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with reader, writer, os.fdopen(writer.fileno(), "w", closefd=False) as stream:
        monkeypatch.setattr(sys, "stderr", stream)
        log = AccessLog(None)
        lines = [f"line {n} " + "x" * (n * 37 % 700) + "\n" for n in range(200)]
        for line in lines:  # what log() does, without a Request to format
            log._lines.append(line)
        log.flush()
        reader.setblocking(False)
        writes = []
        with contextlib.suppress(BlockingIOError):
            while True:
                writes.append(reader.recv(65536).decode())
    assert "".join(writes) == "".join(lines)
    assert len(writes) > 1
    assert all(len(w.encode()) <= select.PIPE_BUF and w.endswith("\n") for w in writes)


def test_a_unix_socket_is_made_once_and_served_by_every_worker(
    pid_site: Path, tmp_path: Path
) -> None:
    path = tmp_path / "s.sock"
    args = ["--config", str(pid_site), "--listen", f"unix:{path}:mode=0600", "--workers", "2",
            "--no-access-log"]
    with running(args) as server:
        assert server.urls == [f"http+unix://{path}"]
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        workers_of(server)
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(path))
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert int(answer.rsplit(b"pid ", 1)[1]) in children(server.process.pid)
        code, _, _ = server.stop()
    assert code == 0


def test_run_with_workers_from_a_script(tmp_path: Path) -> None:
    script = tmp_path / "serve.py"
    script.write_text(
        "import os, plugserve\n"
        "from plugserve.resource import Resource\n"
        "class Pid(Resource):\n"
        "    isLeaf = True\n"
        "    def render_GET(self, request):\n"
        "        return b'pid ' + str(os.getpid()).encode()\n"
        f"plugserve.run(Pid(), {LOOPBACK!r}, workers=2, access_log=False)\n"
    )
    process = subprocess.Popen([sys.executable, str(script)], cwd=REPO, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = ""
        while not line.startswith("plugserve: listening on "):
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
        server = Running(process, [line.split(" on ", 1)[1].strip()])
        workers = workers_of(server)
        assert pid_of(get(server)[1]) in workers
        code, _, _ = server.stop()
        assert code == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_wsgi_thread_pools_are_made_in_each_worker(tmp_path: Path) -> None:
    pytest.importorskip("plugserve_wsgi")
    (tmp_path / "pidapp.py").write_text(
        "import os, threading\n"
        "def app(environ, start_response):\n"
        "    body = f'pid {os.getpid()} {threading.current_thread().name}'.encode()\n"
        "    start_response('200 OK', [('Content-Length', str(len(body)))])\n"
        "    return [body]\n"
    )
    args = ["--wsgi", "pidapp:app", "--listen", LOOPBACK, "--workers", "2", "--no-access-log"]
    with running(args, cwd=tmp_path) as server:
        for _ in range(2):  # before and after a reload
            workers = workers_of(server)
            for _ in range(10):
                status, body = get(server)
                pid, thread = body.decode().split()[1:]
                assert status == 200 and int(pid) in workers and thread.startswith("plugserve")
            reload(server)
        code, _, _ = server.stop()
    assert code == 0
