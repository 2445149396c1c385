"""Shared helpers of the benchmark drivers (run.py; hello.py, static.py): setup, server
processes, wrk.

Each driver pins its servers to CPU 0 and its load generators to CPU 1 (run.py's workers
scenario pins neither: pass `cpu=None`), installs what it
needs (Debian packages with apt-get, Python peers into a virtualenv of its own, default
bench/.venv) and reads the servers' CPU time from /proc.  Only the standard library is used.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
CORE_DIR = REPO_ROOT / "core"
SERVERS_DIR = BENCH_DIR / "servers"

HOST = "127.0.0.1"
SERVER_CPU = 0
CLIENT_CPU = 1
# A peer writing more than this to stdout/stderr during the measured run gets a note.
LOG_GROWTH_NOTE_BYTES = 4096
# A run where the hypervisor stole more than this share of the server's CPU gets a note.
STEAL_NOTE_PERCENT = 2.0

_log_tag = "bench"


class SetupError(Exception):
    """The benchmark cannot run at all (no wrk, no venv, too few CPUs...)."""


class PeerError(Exception):
    """One peer cannot be measured; the others still are."""


def set_log_tag(tag: str) -> None:
    """Prefix of the progress lines written to stderr, e.g. `[hello]`."""
    global _log_tag
    _log_tag = tag


def log(message: str) -> None:
    print(f"[{_log_tag}] {message}", file=sys.stderr, flush=True)


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def summary(error: str) -> str:
    """First line of an error and, if different, its last (e.g. the exception raised)."""
    lines = error.strip().splitlines() or ["unknown error"]
    return lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1].strip()}"


# --- setup -----------------------------------------------------------------------------------


def check_machine() -> None:
    if not Path("/proc/self/stat").exists():
        raise SetupError("needs Linux /proc to measure server CPU time")
    if shutil.which("taskset") is None:
        raise SetupError("taskset not found (Debian package util-linux)")
    cpus = os.sched_getaffinity(0)
    if not {SERVER_CPU, CLIENT_CPU} <= cpus:
        raise SetupError(f"needs CPUs {SERVER_CPU} and {CLIENT_CPU}; available: {sorted(cpus)}")


def which_or_apt(program: str, package: str, error: type[Exception] = SetupError) -> str:
    """The path of `program`, installing Debian package `package` first if it is missing
    (apt-get install, and apt-get update then install again if that fails; needs root)."""
    path = shutil.which(program)
    if path is not None:
        return path
    if os.geteuid() != 0:
        raise error(f"{program} is not installed and we are not root: apt-get install {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", package]
    log(f"installing {program}: " + shlex.join(install))
    if (
        subprocess.run(install, env=env, check=False, capture_output=True, text=True).returncode
        != 0
    ):
        log("apt-get install failed; running apt-get update and retrying")
        subprocess.run(["apt-get", "update"], env=env, check=False, capture_output=True, text=True)
        done = subprocess.run(install, env=env, check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise error(f"could not install {program}:\n" + tail(done.stdout + done.stderr))
    path = shutil.which(program)
    if path is None:
        raise error(f"{program} still not on PATH after apt-get install {package}")
    return path


def ensure_wrk() -> str:
    return which_or_apt("wrk", "wrk")


def ensure_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"creating virtualenv {venv}")
        done = subprocess.run(
            [sys.executable, "-m", "venv", str(venv)], check=False, capture_output=True, text=True
        )
        if done.returncode != 0 or not python.exists():
            raise SetupError(f"could not create venv {venv}:\n" + tail(done.stdout + done.stderr))
    return python


def import_error(python: Path, modules: tuple[str, ...]) -> str | None:
    """Return the error of importing `modules` with `python`, or None if they all import."""
    code = "; ".join(f"import {module}" for module in modules)
    done = subprocess.run([str(python), "-c", code], check=False, capture_output=True, text=True)
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def ensure_installed(
    python: Path, name: str, modules: tuple[str, ...], pip_args: tuple[str, ...]
) -> None:
    """pip install `pip_args` into the venv of `python` unless `modules` already import."""
    if not modules or import_error(python, modules) is None:
        return
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    command += pip_args
    log(f"{name}: installing into the venv: pip install {shlex.join(pip_args)}")
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise PeerError("pip install failed:\n" + tail(done.stdout + done.stderr))
    error = import_error(python, modules)
    if error is not None:
        raise PeerError(f"still cannot import {', '.join(modules)} after install: {error}")


def versions(python: Path, dists: list[str]) -> dict[str, str]:
    code = (
        "import sys, importlib.metadata as m\n"
        "for d in sys.argv[1:]:\n"
        "    try: print(d, m.version(d))\n"
        "    except m.PackageNotFoundError: pass\n"
    )
    done = subprocess.run(
        [str(python), "-c", code, *dists], check=False, capture_output=True, text=True
    )
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


# --- server process --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of process `pid` (all its threads), from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after "(comm)": state is field 3, utime field 14, stime field 15.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reaped_cpu_seconds(pid: int) -> float:
    """User+system CPU time of the children `pid` has waited for (cutime+cstime of
    /proc/PID/stat): a CGI server's scripts, once it has reaped them."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # cutime is field 16, cstime field 17
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def cpu_ticks(cpu: int | None) -> tuple[int, int]:
    """(steal, total) clock ticks of one CPU (None: all CPUs) since boot, from /proc/stat."""
    prefix = "cpu " if cpu is None else f"cpu{cpu} "
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(prefix):
            # user nice system idle iowait irq softirq steal guest guest_nice
            ticks = [int(n) for n in line.split()[1:]]
            return ticks[7], sum(ticks[:8])
    return 0, 0


def children(pid: int) -> list[int]:
    """The child processes of `pid` (e.g. nginx's worker), from /proc/PID/task/*/children."""
    pids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            pids += [int(n) for n in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children...): gunicorn's worker, nginx's
    worker, plugserve's --workers processes.  Processes that end meanwhile are left out."""
    found: list[int] = []
    todo = [pid]
    while todo:
        try:
            kids = children(todo.pop())
        except OSError:
            continue
        found += kids
        todo += kids
    return found


def command_line(pid: int) -> bytes | None:
    """The raw /proc/PID/cmdline of `pid`, None once it has ended."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def proc_status_kib(pid: int, field: str) -> int:
    """A `kB` field of /proc/PID/status, e.g. VmHWM (peak resident set) or VmRSS."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(f"no {field} in /proc/{pid}/status")


def check_answer(port: int, path: str, body: bytes, timeout: float = 2) -> None:
    """GET `path` once; PeerError unless it answers 200 with exactly `body`."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        got = response.read()
    finally:
        connection.close()
    if response.status != 200 or got != body:
        want = f"{body!r}" if len(body) <= 80 else f"the {len(body)} bytes expected"
        raise PeerError(f"GET {path} answered {response.status} {got[:80]!r}, want 200 {want}")


def wait_until_answering(
    process: subprocess.Popen[bytes], port: int, timeout: float, path: str, body: bytes
) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerError(f"server exited with status {process.returncode} before answering")
        try:
            check_answer(port, path, body)
        except (OSError, http.client.HTTPException) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
            continue
        return
    raise PeerError(f"server did not answer within {timeout:g} s (last error: {last_error})")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        log(f"server pid {process.pid} ignored SIGTERM for 5 s; sending SIGKILL")
        process.kill()
        process.wait()


def start_server(
    name: str,
    command: list[str],
    server_log: Path,
    port: int,
    start_timeout: float,
    path: str,
    body: bytes,
    *,
    cpu: int | None = SERVER_CPU,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `command` pinned to `cpu` (taskset execs it, so the pid is the server's; None: not
    pinned), in `cwd` with `env` added to the environment, its output going to `server_log`,
    and wait until GET `path` answers 200 `body`.
    On failure the server is stopped and PeerError says why, with the end of its output."""
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    where = f" in {cwd}" if cwd is not None else ""
    log(f"{name}: starting {shlex.join(command)}{where} (output: {server_log})")
    with server_log.open("wb") as log_file:
        # stdout and stderr go to a file: no peer writes to a terminal while measured.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=None if env is None else {**os.environ, **env},
        )
    try:
        wait_until_answering(process, port, start_timeout, path, body)
        comm = Path(f"/proc/{process.pid}/comm").read_text().strip()
        if cpu is not None and comm == "taskset":
            raise PeerError("taskset did not exec the server; cannot measure its CPU time")
    except PeerError as exc:
        stop(process)
        output_tail = tail(server_log.read_text(errors="replace"))
        raise PeerError(f"failed to start: {exc}\n{output_tail}".rstrip()) from None
    except BaseException:
        stop(process)
        raise
    return process


@dataclass
class Probe:
    """What a server did during a measured run: its CPU time (the pids given, all threads),
    that of the children they reaped meanwhile (`reaped`: a CGI server's scripts), the
    hypervisor's steal on `steal_cpu` (None: all CPUs), and how much it wrote to its log."""

    pids: tuple[int, ...]
    server_log: Path
    cpu: float = 0.0
    reaped: float = 0.0
    steal_percent: float = 0.0
    log_growth: int = 0
    steal_cpu: int | None = SERVER_CPU

    def __enter__(self) -> Probe:
        self._log_size = self.server_log.stat().st_size
        self._steal, self._ticks = cpu_ticks(self.steal_cpu)
        self._cpu = sum(cpu_seconds(pid) for pid in self.pids)
        self._reaped = sum(reaped_cpu_seconds(pid) for pid in self.pids)
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.cpu = sum(cpu_seconds(pid) for pid in self.pids) - self._cpu
            self.reaped = sum(reaped_cpu_seconds(pid) for pid in self.pids) - self._reaped
        except OSError:
            self.cpu = self.reaped = float("nan")  # a server died; the caller reports that
        steal, ticks = cpu_ticks(self.steal_cpu)
        self.steal_percent = 100 * (steal - self._steal) / max(1, ticks - self._ticks)
        self.log_growth = self.server_log.stat().st_size - self._log_size

    def notes(self) -> list[str]:
        notes = []
        if self.steal_percent > STEAL_NOTE_PERCENT:
            where = "all CPUs" if self.steal_cpu is None else f"CPU {self.steal_cpu}"
            notes.append(
                f"the hypervisor stole {self.steal_percent:.0f}% of {where} during the run"
            )
        if self.log_growth > LOG_GROWTH_NOTE_BYTES:
            notes.append(
                f"server wrote {self.log_growth / 1024:.0f} KiB to stdout/stderr during the run "
                "(access log?); its cost is included"
            )
        return notes


# --- wrk -------------------------------------------------------------------------------------

TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
# wrk prints byte counts with binary prefixes and no "i": 1.23GB is 1.23 GiB.
BYTE_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}


@dataclass
class WrkResult:
    requests_per_s: float
    p99_ms: float | None  # only with --latency
    requests: int
    bytes_read: float  # from wrk's "N requests in Xs, Y.YYGB read", so within 0.5%
    seconds: float
    socket_errors: int
    non_2xx: int


def run_wrk(
    wrk: str,
    port: int,
    seconds: int,
    connections: int,
    path: str = "/",
    latency: bool = True,
    *,
    cpu: int | None = CLIENT_CPU,
    threads: int = 1,
    headers: Sequence[str] = (),
) -> str:
    """Run wrk against 127.0.0.1:`port`, pinned to `cpu` (None: not pinned), with extra
    request `headers` ("Name: value"); its stdout, or PeerError if it fails."""
    command = [] if cpu is None else ["taskset", "-c", str(cpu)]
    command += [wrk, f"-t{threads}", f"-c{connections}"]
    command += [f"-d{seconds}s", *(["--latency"] if latency else [])]
    for header in headers:
        command += ["-H", header]
    command.append(f"http://{HOST}:{port}{path}")
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=seconds + 60
    )
    if done.returncode != 0:
        raise PeerError(f"{shlex.join(command)} failed:\n" + tail(done.stdout + done.stderr))
    return done.stdout


def parse_wrk(output: str, latency: bool = True) -> WrkResult:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
    total = re.search(
        r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)([KMGT]?B) read",
        output,
        re.MULTILINE,
    )
    if rps is None or total is None or (latency and p99 is None):
        raise PeerError("could not parse wrk output:\n" + output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        p99_ms=float(p99.group(1)) * TIME_UNITS_MS[p99.group(2)] if p99 else None,
        requests=int(total.group(1)),
        bytes_read=float(total.group(4)) * BYTE_UNITS[total.group(5)],
        seconds=float(total.group(2)) * TIME_UNITS_MS[total.group(3)] / 1000,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def wrk_notes(result: WrkResult) -> list[str]:
    notes = []
    if result.socket_errors:
        notes.append(f"wrk reported {result.socket_errors} socket errors")
    if result.non_2xx:
        notes.append(f"wrk reported {result.non_2xx} non-2xx/3xx responses")
    return notes


# --- report ----------------------------------------------------------------------------------


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def wrk_version(wrk: str) -> str:
    output = subprocess.run([wrk, "--version"], check=False, capture_output=True, text=True)
    return output.stdout.split(" [")[0].split(" Copyright")[0].strip() or "wrk"


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine_line(load: str) -> str:
    return (
        f"- machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs "
        f"({cpu_model()}), load average before the run {load}"
    )


def add_setup_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every driver shares: where the peers live and how long a start may take."""
    parser.add_argument(
        "--venv",
        type=Path,
        default=BENCH_DIR / ".venv",
        help="virtualenv for the peers, created if missing; server and wrk logs go to "
        "VENV/bench-logs (default: bench/.venv)",
    )
    parser.add_argument(
        "--start-timeout", type=float, default=20.0, help="seconds to wait for a server to answer"
    )


def split_names(
    parser: argparse.ArgumentParser, text: str, known: Sequence[str], what: str
) -> list[str]:
    """A comma-separated list of names, each one of `known` (else a usage error)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        parser.error(f"unknown {what}(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return names
