#!/usr/bin/env python3
"""Hello-world HTTP benchmark: plugserve against other Python web servers.

Runs each peer's hello-world server (bench/servers/*.py) in turn, pinned to CPU 0, and loads
it with wrk pinned to CPU 1, so every peer gets one core and the same load generator.
For each peer it reports requests/s and p99 latency (from wrk) and the server's CPU time per
request (user+sys from /proc/PID/stat around the measured run), then prints a markdown table
and writes it to bench/last-hello.md.

It installs what it needs: wrk from Debian (apt-get) and the peers into a virtualenv of its
own (default bench/.venv), plugserve itself as an editable install of repo_root/core.

Usage: python bench/hello.py [--duration 10] [--connections 50]
                             [--peers plugserve,twisted,aiohttp,uvicorn-h11]

Exit status: 0 if every peer was measured, 1 if some peer was skipped, 2 on a setup error.
Only the standard library is used here.
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
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
CORE_DIR = REPO_ROOT / "core"
SERVERS_DIR = BENCH_DIR / "servers"
RESULTS_FILE = BENCH_DIR / "last-hello.md"

HOST = "127.0.0.1"
BODY = b"Hello, world!"
SERVER_CPU = 0
CLIENT_CPU = 1
BASELINE = "twisted"
# A peer writing more than this to stdout/stderr during the measured run gets a note.
LOG_GROWTH_NOTE_BYTES = 4096
# A run where the hypervisor stole more than this share of the server's CPU gets a note.
STEAL_NOTE_PERCENT = 2.0


@dataclass(frozen=True)
class Peer:
    name: str
    script: str  # file name in bench/servers/, run as `python SCRIPT PORT`
    modules: tuple[str, ...]  # modules that must be importable in the venv
    pip_args: tuple[str, ...]  # `pip install` arguments that provide them
    dists: tuple[str, ...]  # distributions whose versions go into the report


PEERS: dict[str, Peer] = {
    peer.name: peer
    for peer in (
        Peer(
            "plugserve",
            "plugserve_hello.py",
            ("plugserve",),
            ("-e", str(CORE_DIR)),
            ("plugserve", "h11"),
        ),
        Peer("twisted", "twisted_hello.py", ("twisted.web",), ("twisted",), ("twisted",)),
        Peer("aiohttp", "aiohttp_hello.py", ("aiohttp",), ("aiohttp",), ("aiohttp",)),
        Peer(
            "uvicorn-h11",
            "uvicorn_h11_hello.py",
            ("uvicorn", "h11"),
            ("uvicorn", "h11"),
            ("uvicorn", "h11"),
        ),
    )
}


class SetupError(Exception):
    """The benchmark cannot run at all (no wrk, no venv, too few CPUs...)."""


class PeerError(Exception):
    """One peer cannot be measured; the others still are."""


@dataclass
class WrkResult:
    requests_per_s: float
    p99_ms: float
    requests: int
    socket_errors: int
    non_2xx: int


@dataclass
class Measurement:
    peer: str
    wrk: WrkResult | None = None
    cpu_us_per_request: float | None = None
    skipped: str | None = None  # why the peer was not measured
    notes: tuple[str, ...] = ()


def log(message: str) -> None:
    print(f"[hello] {message}", file=sys.stderr, flush=True)


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --- setup -----------------------------------------------------------------------------------


def check_machine() -> None:
    if not Path("/proc/self/stat").exists():
        raise SetupError("needs Linux /proc to measure server CPU time")
    if shutil.which("taskset") is None:
        raise SetupError("taskset not found (Debian package util-linux)")
    cpus = os.sched_getaffinity(0)
    if not {SERVER_CPU, CLIENT_CPU} <= cpus:
        raise SetupError(f"needs CPUs {SERVER_CPU} and {CLIENT_CPU}; available: {sorted(cpus)}")


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is not None:
        return wrk
    if os.geteuid() != 0:
        raise SetupError("wrk is not installed and we are not root: apt-get install wrk")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "wrk"]
    log("installing wrk: " + shlex.join(install))
    if (
        subprocess.run(install, env=env, check=False, capture_output=True, text=True).returncode
        != 0
    ):
        log("apt-get install failed; running apt-get update and retrying")
        subprocess.run(["apt-get", "update"], env=env, check=False, capture_output=True, text=True)
        done = subprocess.run(install, env=env, check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise SetupError("could not install wrk:\n" + tail(done.stdout + done.stderr))
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SetupError("wrk still not on PATH after apt-get install")
    return wrk


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


def ensure_peer_installed(python: Path, peer: Peer) -> None:
    if import_error(python, peer.modules) is None:
        return
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    command += peer.pip_args
    log(f"{peer.name}: installing into the venv: pip install {shlex.join(peer.pip_args)}")
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise PeerError("pip install failed:\n" + tail(done.stdout + done.stderr))
    error = import_error(python, peer.modules)
    if error is not None:
        raise PeerError(f"still cannot import {', '.join(peer.modules)} after install: {error}")


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


def cpu_ticks(cpu: int) -> tuple[int, int]:
    """(steal, total) clock ticks of one CPU since boot, from /proc/stat."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            # user nice system idle iowait irq softirq steal guest guest_nice
            ticks = [int(n) for n in line.split()[1:]]
            return ticks[7], sum(ticks[:8])
    return 0, 0


def wait_until_answering(process: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerError(f"server exited with status {process.returncode} before answering")
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            connection.request("GET", "/")
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.1)
            continue
        finally:
            connection.close()
        if response.status != 200 or body != BODY:
            raise PeerError(f"GET / answered {response.status} {body[:80]!r}, want 200 {BODY!r}")
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


# --- wrk -------------------------------------------------------------------------------------

TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def run_wrk(wrk: str, port: int, seconds: int, connections: int) -> str:
    command = ["taskset", "-c", str(CLIENT_CPU), wrk, "-t1", f"-c{connections}"]
    command += [f"-d{seconds}s", "--latency", f"http://{HOST}:{port}/"]
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=seconds + 60
    )
    if done.returncode != 0:
        raise PeerError(f"{shlex.join(command)} failed:\n" + tail(done.stdout + done.stderr))
    return done.stdout


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ", output, re.MULTILINE)
    if rps is None or p99 is None or total is None:
        raise PeerError("could not parse wrk output:\n" + output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        p99_ms=float(p99.group(1)) * TIME_UNITS_MS[p99.group(2)],
        requests=int(total.group(1)),
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


# --- one peer --------------------------------------------------------------------------------


def measure(
    peer: Peer, python: Path, wrk: str, args: argparse.Namespace, logs: Path
) -> Measurement:
    port = free_port()
    server_log = logs / f"{peer.name}.log"
    command = ["taskset", "-c", str(SERVER_CPU), str(python), str(SERVERS_DIR / peer.script)]
    command.append(str(port))
    log(f"{peer.name}: starting {shlex.join(command)} (output: {server_log})")
    with server_log.open("wb") as log_file:
        # stdout and stderr go to a file: no peer writes to a terminal while measured.
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        try:
            wait_until_answering(process, port, args.start_timeout)
        except PeerError as exc:
            stop(process)
            output_tail = tail(server_log.read_text(errors="replace"))
            raise PeerError(f"failed to start: {exc}\n{output_tail}".rstrip()) from None
        # taskset execs the server, so the pid we hold is the server's own.
        comm = Path(f"/proc/{process.pid}/comm").read_text().strip()
        if comm == "taskset":
            raise PeerError("taskset did not exec the server; cannot measure its CPU time")
        log(f"{peer.name}: answering on port {port}; warming up {args.warmup} s")
        run_wrk(wrk, port, args.warmup, args.connections)
        log(f"{peer.name}: measuring {args.duration} s with {args.connections} connections")
        log_size_before = server_log.stat().st_size
        steal_before, ticks_before = cpu_ticks(SERVER_CPU)
        cpu_before = cpu_seconds(process.pid)
        output = run_wrk(wrk, port, args.duration, args.connections)
        cpu_after = cpu_seconds(process.pid)
        steal_after, ticks_after = cpu_ticks(SERVER_CPU)
        log_growth = server_log.stat().st_size - log_size_before
        if process.poll() is not None:
            raise PeerError(f"server exited with status {process.returncode} during the run")
    finally:
        stop(process)
    (logs / f"{peer.name}.wrk.txt").write_text(output)
    result = parse_wrk(output)
    if result.requests == 0:
        raise PeerError("wrk completed no requests:\n" + output)
    notes = []
    if result.socket_errors:
        notes.append(f"wrk reported {result.socket_errors} socket errors")
    if result.non_2xx:
        notes.append(f"wrk reported {result.non_2xx} non-2xx/3xx responses")
    steal = 100 * (steal_after - steal_before) / max(1, ticks_after - ticks_before)
    if steal > STEAL_NOTE_PERCENT:
        notes.append(f"the hypervisor stole {steal:.0f}% of CPU {SERVER_CPU} during the run")
    if log_growth > LOG_GROWTH_NOTE_BYTES:
        notes.append(
            f"server wrote {log_growth / 1024:.0f} KiB to stdout/stderr during the run "
            "(access log?); its cost is included"
        )
    return Measurement(
        peer=peer.name,
        wrk=result,
        cpu_us_per_request=(cpu_after - cpu_before) / result.requests * 1e6,
        notes=tuple(notes),
    )


# --- report ----------------------------------------------------------------------------------


def table(results: list[Measurement]) -> str:
    baseline = next((r.wrk for r in results if r.peer == BASELINE and r.wrk), None)
    rows = [
        "| peer | req/s | p99 ms | CPU µs/req | vs Twisted Web req/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for result in results:
        if result.wrk is None or result.cpu_us_per_request is None:
            rows.append(f"| {result.peer} | — | — | — | — |")
            continue
        ratio = "n/a"
        if baseline is not None:
            ratio = f"{result.wrk.requests_per_s / baseline.requests_per_s:.2f}x"
        rows.append(
            f"| {result.peer} | {result.wrk.requests_per_s:,.0f} | {result.wrk.p99_ms:.2f} "
            f"| {result.cpu_us_per_request:.0f} | {ratio} |"
        )
    return "\n".join(rows)


def summary(error: str) -> str:
    """First line of an error and, if different, its last (e.g. the exception raised)."""
    lines = error.strip().splitlines() or ["unknown error"]
    return lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1].strip()}"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def report(
    results: list[Measurement],
    args: argparse.Namespace,
    wrk: str,
    package_versions: dict[str, str],
    loadavg: str,
) -> str:
    wrk_version = subprocess.run(
        [wrk, "--version"], check=False, capture_output=True, text=True
    ).stdout
    wrk_version = wrk_version.split(" [")[0].split(" Copyright")[0].strip() or "wrk"
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    version_list = ", ".join(f"{name} {v}" for name, v in sorted(package_versions.items()))
    command = shlex.join(["python", "bench/hello.py", *sys.argv[1:]])
    lines = [
        "# Hello-world benchmark",
        "",
        f"- run: {now}, `{command}`",
        (
            f"- load: `taskset -c {CLIENT_CPU} wrk -t1 -c{args.connections} "
            f"-d{args.duration}s --latency http://{HOST}:PORT/` after a {args.warmup} s "
            f"warm-up; each server pinned to CPU {SERVER_CPU}"
        ),
        (
            f"- machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs "
            f"({cpu_model()}), load average before the run {loadavg}"
        ),
        f"- software: Python {platform.python_version()}, {wrk_version}; {version_list}",
        "",
        table(results),
    ]
    notes = [f"- {r.peer}: {note}" for r in results for note in r.notes]
    notes += [f"- {r.peer}: skipped: {summary(r.skipped)}" for r in results if r.skipped]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines) + "\n"


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of measured load")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections")
    parser.add_argument(
        "--peers",
        default=",".join(PEERS),
        help="comma-separated, run in this order (default and known peers: %(default)s)",
    )
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load first")
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
    args = parser.parse_args(argv)
    args.peers = [name.strip() for name in args.peers.split(",") if name.strip()]
    unknown = [name for name in args.peers if name not in PEERS]
    if unknown or not args.peers:
        parser.error(f"unknown peer(s) {', '.join(unknown)}; known: {', '.join(PEERS)}")
    if args.duration < 1 or args.warmup < 1 or args.connections < 1:
        parser.error("--duration, --warmup and --connections must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_machine()
        wrk = ensure_wrk()
        python = ensure_venv(args.venv.resolve())
    except SetupError as exc:
        log(f"error: {exc}")
        return 2
    logs = args.venv.resolve() / "bench-logs"
    logs.mkdir(exist_ok=True)
    loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])

    results: list[Measurement] = []
    for name in args.peers:
        peer = PEERS[name]
        try:
            ensure_peer_installed(python, peer)
            results.append(measure(peer, python, wrk, args, logs))
        except PeerError as exc:
            log(f"{name}: SKIPPED: {exc}")
            results.append(Measurement(peer=name, skipped=str(exc)))
            continue
        log(f"{name}: done")

    dists = sorted({dist for name in args.peers for dist in PEERS[name].dists})
    text = report(results, args, wrk, versions(python, dists), loadavg)
    RESULTS_FILE.write_text(text)
    print(text, end="")
    log(f"written to {RESULTS_FILE}")
    return 1 if any(r.skipped for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
