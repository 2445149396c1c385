#!/usr/bin/env python3
"""Hello-world HTTP benchmark: plugserve against other Python web servers.

Runs each peer's hello-world server (bench/servers/*.py) in turn, pinned to CPU 0, and loads
it with wrk pinned to CPU 1, so every peer gets one core and the same load generator.
For each peer it reports requests/s and p99 latency (from wrk) and the server's CPU time per
request (user+sys from /proc/PID/stat around the measured run), then prints a markdown table
and writes it to bench/last-hello.md.

It installs what it needs: wrk from Debian (apt-get) and the peers into a virtualenv of its
own (default bench/.venv), plugserve itself as an editable install of repo_root/core (with
its `fast` extra, httptools, for the plugserve-httptools peer).

Usage: python bench/hello.py [--duration 10] [--connections 50]
                             [--peers plugserve,plugserve-httptools,twisted,aiohttp,
                                      uvicorn-h11,uvicorn-httptools]

Exit status: 0 if every peer was measured, 1 if some peer was skipped, 2 on a setup error.
Only the standard library is used here.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from _common import (
    BENCH_DIR,
    CLIENT_CPU,
    CORE_DIR,
    HOST,
    SERVER_CPU,
    SERVERS_DIR,
    PeerError,
    Probe,
    SetupError,
    WrkResult,
    add_setup_arguments,
    check_machine,
    ensure_installed,
    ensure_venv,
    ensure_wrk,
    free_port,
    loadavg,
    log,
    machine_line,
    parse_wrk,
    run_wrk,
    set_log_tag,
    split_names,
    start_server,
    stop,
    summary,
    utc_now,
    versions,
    wrk_notes,
    wrk_version,
)

RESULTS_FILE = BENCH_DIR / "last-hello.md"
BODY = b"Hello, world!"
BASELINE = "twisted"


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
        Peer(
            "plugserve-httptools",
            "plugserve_httptools_hello.py",
            ("plugserve", "httptools"),
            ("-e", f"{CORE_DIR}[fast]"),
            ("plugserve", "httptools"),
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
        Peer(
            "uvicorn-httptools",
            "uvicorn_httptools_hello.py",
            ("uvicorn", "httptools"),
            ("uvicorn", "httptools"),
            ("uvicorn", "httptools"),
        ),
    )
}


@dataclass
class Measurement:
    peer: str
    wrk: WrkResult | None = None
    cpu_us_per_request: float | None = None
    skipped: str | None = None  # why the peer was not measured
    notes: tuple[str, ...] = ()


# --- one peer --------------------------------------------------------------------------------


def measure(
    peer: Peer, python: Path, wrk: str, args: argparse.Namespace, logs: Path
) -> Measurement:
    port = free_port()
    server_log = logs / f"{peer.name}.log"
    command = [str(python), str(SERVERS_DIR / peer.script), str(port)]
    process = start_server(peer.name, command, server_log, port, args.start_timeout, "/", BODY)
    try:
        log(f"{peer.name}: answering on port {port}; warming up {args.warmup} s")
        run_wrk(wrk, port, args.warmup, args.connections)
        log(f"{peer.name}: measuring {args.duration} s with {args.connections} connections")
        with Probe((process.pid,), server_log) as probe:
            output = run_wrk(wrk, port, args.duration, args.connections)
        if process.poll() is not None:
            raise PeerError(f"server exited with status {process.returncode} during the run")
    finally:
        stop(process)
    (logs / f"{peer.name}.wrk.txt").write_text(output)
    result = parse_wrk(output)
    if result.requests == 0:
        raise PeerError("wrk completed no requests:\n" + output)
    return Measurement(
        peer=peer.name,
        wrk=result,
        cpu_us_per_request=probe.cpu / result.requests * 1e6,
        notes=tuple(wrk_notes(result) + probe.notes()),
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


def report(
    results: list[Measurement],
    args: argparse.Namespace,
    wrk: str,
    package_versions: dict[str, str],
    load: str,
) -> str:
    version_list = ", ".join(f"{name} {v}" for name, v in sorted(package_versions.items()))
    command = shlex.join(["python", "bench/hello.py", *sys.argv[1:]])
    lines = [
        "# Hello-world benchmark",
        "",
        f"- run: {utc_now()}, `{command}`",
        (
            f"- load: `taskset -c {CLIENT_CPU} wrk -t1 -c{args.connections} "
            f"-d{args.duration}s --latency http://{HOST}:PORT/` after a {args.warmup} s "
            f"warm-up; each server pinned to CPU {SERVER_CPU}"
        ),
        machine_line(load),
        f"- software: Python {platform.python_version()}, {wrk_version(wrk)}; {version_list}",
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
    add_setup_arguments(parser)
    args = parser.parse_args(argv)
    args.peers = split_names(parser, args.peers, list(PEERS), "peer")
    if args.duration < 1 or args.warmup < 1 or args.connections < 1:
        parser.error("--duration, --warmup and --connections must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    set_log_tag("hello")
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
    load = loadavg()

    results: list[Measurement] = []
    for name in args.peers:
        peer = PEERS[name]
        try:
            ensure_installed(python, peer.name, peer.modules, peer.pip_args)
            results.append(measure(peer, python, wrk, args, logs))
        except PeerError as exc:
            log(f"{name}: SKIPPED: {exc}")
            results.append(Measurement(peer=name, skipped=str(exc)))
            continue
        log(f"{name}: done")

    dists = sorted({dist for name in args.peers for dist in PEERS[name].dists})
    text = report(results, args, wrk, versions(python, dists), load)
    RESULTS_FILE.write_text(text)
    print(text, end="")
    log(f"written to {RESULTS_FILE}")
    return 1 if any(r.skipped for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
