#!/usr/bin/env python3
"""plugserve's benchmark driver: every scenario of issue 6, every peer, one report.

Scenarios (`--scenarios`): hello-keepalive, hello-close (`Connection: close` on every request),
static-4k, static-100m, wsgi-hello, workers (plugserve `--workers 2` against `--workers 1`),
and proxy-4k and proxy-100m (the 4 KiB and the 100 MiB file through a reverse proxy to one
nginx origin on CPU 1; built in proxy.py), and vhost-4k (the 4 KiB file through a
NameVirtualHost, against plugserve --path; built in vhost.py), and cgi-hello and php-hello
(a sh CGI script and php-cgi, one process per request, against Twisted's CGIDirectory and
FilteredScript; built in cgi_scenarios.py, with the reaped scripts' CPU in columns of their own).
Peers (`--peers`): plugserve-h11 and plugserve-httptools (the `plugserve` command with
`--http h11|httptools`), twisted, aiohttp, uvicorn-h11, uvicorn-httptools, nginx, gunicorn,
waitress and nginx-keepalive, each in the scenarios it applies to (in wsgi-hello, `plugserve-*`
is `plugserve --wsgi` and `twisted` is Twisted's WSGIResource; in the proxy scenarios,
`plugserve-*` is `plugserve --reverse-proxy`, `twisted` Twisted's ReverseProxyResource, and
nginx and nginx-keepalive are `proxy_pass` without and with upstream keep-alive).

Every row is measured `--runs` times (default 3), interleaved (A B C A B C A B C, so a slow
minute of the shared VM hits every peer alike), each time on a freshly started server: the
server pinned to CPU 0 and wrk to CPU 1 (in the workers scenario neither is pinned; the proxy
scenarios' origin is on CPU 1 too).  The report gives per row the median of each column (req/s
or MB/s, p99 latency, server CPU per request or per GB, wrk's CPU use; for a proxy, its own
CPU, and the origin's apart), ratios of the medians to Twisted Web and nginx, and a line
per target of the issues.  A full run (every scenario and peer, no --quick) writes it to
bench/RESULTS.md; other runs write bench/.venv/bench-logs/last-run.md (or --output).

It installs what it needs: wrk, curl and nginx from Debian (apt-get) and the Python peers into
bench/.venv (plugserve, plugserve-static, plugserve-wsgi, plugserve-proxy, plugserve-vhost
and plugserve-cgi as editable installs; php-cgi from Debian).

Usage: python3 bench/run.py [--scenarios a,b] [--peers a,b] [--runs 3] [--duration 10]
       python3 bench/run.py --quick --scenarios hello-keepalive --peers plugserve-h11,twisted

Exit status: 0 if every row was measured, 1 if some row was skipped, 2 on a setup error.
Only the standard library is used here (and in _common.py, _rows.py, static.py, proxy.py,
vhost.py and cgi_scenarios.py, which it imports).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cgi_scenarios
import proxy
import vhost
from _common import (
    BENCH_DIR,
    CLIENT_CPU,
    CORE_DIR,
    HOST,
    REPO_ROOT,
    SERVER_CPU,
    SERVERS_DIR,
    PeerError,
    Probe,
    SetupError,
    add_setup_arguments,
    check_machine,
    command_line,
    descendants,
    ensure_installed,
    ensure_venv,
    ensure_wrk,
    free_port,
    import_error,
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
    which_or_apt,
    wrk_notes,
    wrk_version,
)
from _rows import (
    ENGINES,
    Command,
    Env,
    Need,
    Row,
    Scenario,
    Target,
    engine_needs,
    engine_rows,
    p99_targets,
    plugserve,
    python_script,
    rate_target,
    vs,
)
from static import (
    BIG_PATH,
    BIG_SIZE,
    MIB,
    SMALL_PATH,
    SMALL_SIZE,
    STATIC_PLUGIN_DIR,
    check_big,
    children_cpu,
    make_files,
    nginx_command,
)
from static import Env as StaticEnv

RESULTS_FILE = BENCH_DIR / "RESULTS.md"
WSGI_PLUGIN_DIR = REPO_ROOT / "plugins" / "wsgi"
HELLO_CONFIG = SERVERS_DIR / "plugserve_hello_config.py"
WSGI_APP = "wsgi_hello_app:application"
# Seconds per measurement on top of warm-up and run: start, checks, stop.
OVERHEAD_S = 2
# A wrk run lasting longer than this times --duration (+1 s) gets a note: it waited for
# connections the server left hanging.
STALL_FACTOR = 1.2
# Above this 1-minute load average before the run, the report warns that it was not quiet.
QUIET_LOAD = 0.5
# Above this CPU use of wrk and the origin together (proxy scenarios), a run gets a note.
CPU1_BUSY_PERCENT = 90


# --- what gets installed ---------------------------------------------------------------------


NEEDS: dict[str, Need] = {
    "plugserve": Need(("plugserve",), ("-e", str(CORE_DIR)), ("plugserve", "h11")),
    "plugserve-fast": Need(
        ("plugserve", "httptools"), ("-e", f"{CORE_DIR}[fast]"), ("plugserve", "httptools")
    ),
    "plugserve-static": Need(
        ("plugserve_static",), ("-e", str(STATIC_PLUGIN_DIR)), ("plugserve-static",)
    ),
    "plugserve-wsgi": Need(("plugserve_wsgi",), ("-e", str(WSGI_PLUGIN_DIR)), ("plugserve-wsgi",)),
    "--http": Need(flag="--http"),
    "--workers": Need(flag="--workers"),
    "twisted": Need(("twisted.web",), ("twisted",), ("twisted",)),
    "aiohttp": Need(("aiohttp",), ("aiohttp",), ("aiohttp",)),
    "uvicorn-h11": Need(("uvicorn", "h11"), ("uvicorn", "h11"), ("uvicorn", "h11")),
    "uvicorn-httptools": Need(
        ("uvicorn", "httptools"), ("uvicorn", "httptools"), ("uvicorn", "httptools")
    ),
    "gunicorn": Need(("gunicorn",), ("gunicorn",), ("gunicorn",)),
    "waitress": Need(("waitress",), ("waitress",), ("waitress",)),
    "nginx": Need(program="nginx"),
    "curl": Need(program="curl"),
    **proxy.NEEDS,
    **vhost.NEEDS,
    **cgi_scenarios.NEEDS,
}


# --- rows and scenarios ----------------------------------------------------------------------


def static_script(script: str) -> Command:
    def command(env: Env, port: int) -> list[str]:
        return [str(env.python), str(SERVERS_DIR / script), str(port), str(env.docroot)]

    return command


def nginx(env: Env, port: int) -> list[str]:
    assert env.docroot is not None
    static_env = StaticEnv(env.python, env.docroot, env.scratch, env.programs["nginx"])
    return nginx_command(static_env, port)


def gunicorn(env: Env, port: int) -> list[str]:
    return [
        str(env.python),
        "-m",
        "gunicorn",
        "--workers",
        "1",
        "--worker-class",
        "sync",
        "--bind",
        f"{HOST}:{port}",
        "--chdir",
        str(SERVERS_DIR),
        "--log-level",
        "warning",
        WSGI_APP,
    ]


def hello_rows() -> tuple[Row, ...]:
    rows = engine_rows("", lambda engine: plugserve(engine, "--config", str(HELLO_CONFIG)))
    rows += [
        Row(
            "twisted",
            "twisted",
            "Twisted Web, isLeaf Resource",
            python_script("twisted_hello.py"),
            ("twisted",),
        ),
        Row(
            "aiohttp",
            "aiohttp",
            "aiohttp.web (C parser)",
            python_script("aiohttp_hello.py"),
            ("aiohttp",),
        ),
    ]
    rows += [
        Row(
            f"uvicorn-{engine}",
            f"uvicorn-{engine}",
            f"uvicorn --http {engine}, raw ASGI",
            python_script(f"uvicorn_{engine}_hello.py"),
            (f"uvicorn-{engine}",),
        )
        for engine in ENGINES
    ]
    return tuple(rows)


def static_rows() -> tuple[Row, ...]:
    rows = engine_rows("--path", lambda engine: plugserve(engine, "--path", "{docroot}"),
                       ("plugserve-static",))
    rows += [
        Row(
            "twisted",
            "twisted",
            "Twisted Web static.File",
            static_script("twisted_static.py"),
            ("twisted",),
        ),
        Row(
            "aiohttp",
            "aiohttp",
            "aiohttp web.static",
            static_script("aiohttp_static.py"),
            ("aiohttp",),
        ),
        Row("nginx", "nginx", "nginx, 1 worker, sendfile", nginx, ("nginx",)),
    ]
    return tuple(rows)


WSGI_PATH = (("PYTHONPATH", str(SERVERS_DIR)),)


def wsgi_rows() -> tuple[Row, ...]:
    rows = engine_rows("--wsgi", lambda engine: plugserve(engine, "--wsgi", WSGI_APP),
                       ("plugserve-wsgi",), cwd=SERVERS_DIR, env=WSGI_PATH)
    rows += [
        Row(
            "twisted",
            "twisted",
            "Twisted WSGIResource, reactor pool",
            python_script("twisted_wsgi_hello.py"),
            ("twisted",),
        ),
        Row(
            "gunicorn",
            "gunicorn",
            "gunicorn sync, 1 worker",
            gunicorn,
            ("gunicorn",),
            cwd=SERVERS_DIR,
            env=WSGI_PATH,
        ),
        Row(
            "waitress",
            "waitress",
            "waitress, 4 threads",
            python_script("waitress_wsgi_hello.py"),
            ("waitress",),
        ),
    ]
    return tuple(rows)


def workers_name(engine: str, workers: int) -> str:
    return f"plugserve-{engine} --workers {workers}"


def workers_rows() -> tuple[Row, ...]:
    return tuple(
        Row(
            workers_name(engine, workers),
            f"plugserve-{engine}",
            f"plugserve --http {engine} --workers {workers}",
            plugserve(engine, "--config", str(HELLO_CONFIG), "--workers", str(workers)),
            (*engine_needs(engine), "--workers"),
            engine=engine,
        )
        for engine in ENGINES
        for workers in (1, 2)
    )


VS_TWISTED = ("vs Twisted Web", vs("twisted"))
VS_NGINX = ("vs nginx", vs("nginx"))


def build_scenarios() -> dict[str, Scenario]:
    hello, static, wsgi, workers = hello_rows(), static_rows(), wsgi_rows(), workers_rows()
    per_engine = [(f"plugserve-{engine}", engine) for engine in ENGINES]
    scenarios = (
        Scenario(
            "hello-keepalive",
            "Hello world, keep-alive",
            "`GET /` answered `Hello, world!` (13 bytes), HTTP/1.1 keep-alive.",
            hello,
            ratios=(VS_TWISTED,),
            targets=(
                rate_target("fast engine", "plugserve-httptools", "twisted", 2.0),
                rate_target("fast engine", "plugserve-httptools", "uvicorn-httptools", 1.3),
                rate_target("h11 engine", "plugserve-h11", "uvicorn-h11", 1.3),
                *p99_targets(hello),
            ),
        ),
        Scenario(
            "hello-close",
            "Hello world, `Connection: close`",
            "The same hello world, every request sent with `Connection: close`: a new TCP "
            "connection per request.",
            hello,
            headers=("Connection: close",),
            ratios=(VS_TWISTED,),
            targets=(
                *(rate_target(e, row, "twisted", 1.0) for row, e in per_engine),
                *p99_targets(hello),
            ),
        ),
        Scenario(
            "static-4k",
            f"{SMALL_SIZE // 1024} KiB static file, keep-alive",
            f"`GET {SMALL_PATH}`, {SMALL_SIZE} random bytes from a directory served by each "
            "server's static-file handler.",
            static,
            path=SMALL_PATH,
            check_path=SMALL_PATH,
            ratios=(VS_TWISTED, VS_NGINX),
            targets=(
                *(rate_target(e, row, "twisted", 1.5) for row, e in per_engine),
                *p99_targets(static),
            ),
        ),
        Scenario(
            "static-100m",
            f"{BIG_SIZE // MIB} MiB static file",
            f"`GET {BIG_PATH}`, {BIG_SIZE // MIB} MiB of random bytes (checked once per server "
            "start: size with curl, SHA-256). MB/s = 10⁶ bytes/s read by wrk. wrk reads 8 KiB "
            "at a time on one thread: a row whose wrk CPU % is near 100 is limited by the "
            "client, not by the server.",
            static,
            path=BIG_PATH,
            check_path=SMALL_PATH,
            throughput=True,
            big_connections=True,
            check_big_body=True,
            ratios=(VS_TWISTED, VS_NGINX),
            targets=(
                *(rate_target(e, row, "twisted", 2.0) for row, e in per_engine),
                *p99_targets(static),
            ),
        ),
        Scenario(
            "wsgi-hello",
            "WSGI hello world",
            "`GET /` through the same WSGI application (servers/wsgi_hello_app.py: "
            "`Hello, world!` with a Content-Length), keep-alive where the server keeps "
            "connections (gunicorn's sync worker closes each one). Each server's default "
            "thread count: plugserve-wsgi min(32, CPUs + 4), Twisted's reactor pool 10, "
            "waitress 4.",
            wsgi,
            ratios=(("vs Twisted WSGIResource", vs("twisted")),),
            targets=(
                *(rate_target(e, row, "twisted", 1.5) for row, e in per_engine),
                *p99_targets(wsgi),
            ),
        ),
        Scenario(
            "workers",
            "Hello world, `--workers 2` against `--workers 1`",
            "The keep-alive hello world with `--workers N`; neither the server nor wrk is "
            "pinned (wrk with 2 threads), so wrk shares the 2 cores with the workers.",
            workers,
            pinned=False,
            wrk_threads=2,
            ratios=(("vs 1 worker", lambda row: row.name.replace("--workers 2", "--workers 1")),),
            targets=tuple(
                rate_target(e, workers_name(e, 2), workers_name(e, 1), 1.6) for e in ENGINES
            ),
        ),
    )
    scenarios += proxy.proxy_scenarios()
    scenarios += vhost.vhost_scenarios()
    scenarios += cgi_scenarios.cgi_scenarios()
    return {scenario.name: scenario for scenario in scenarios}


SCENARIOS = build_scenarios()
PEERS = list(dict.fromkeys(row.peer for s in SCENARIOS.values() for row in s.rows))


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Sample:
    """One measured run of one row."""

    rate: float  # req/s, or MB/s
    p99_ms: float
    cpu: float  # server CPU µs per request, or ms per GB
    wrk_cpu_pct: float
    notes: list[str]
    origin_cpu: float = float("nan")  # the origin's CPU, same unit as `cpu` (proxy scenarios)
    cpu1_pct: float = float("nan")  # wrk's and the origin's CPU use, of CPU 1
    script_cpu: float = float("nan")  # reaped children's CPU, same unit (cgi_scenarios.py)


@dataclass
class RowResult:
    row: Row
    samples: list[Sample] = field(default_factory=list)
    skipped: str | None = None  # why it was not (or no longer) measured
    notes: list[str] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return float(statistics.median(getattr(sample, attribute) for sample in self.samples))


def check_engine(row: Row, server_log: Path) -> None:
    """PeerError if the plugserve command said it runs another engine than asked for."""
    said = set(re.findall(r"HTTP engine: (\S+)", server_log.read_text(errors="replace")))
    if row.engine is not None and said - {row.engine}:
        raise PeerError(f"asked for --http {row.engine}, the server says {', '.join(said)}")


def reap(leftovers: dict[int, bytes | None]) -> None:
    """SIGKILL, by pid, the server's descendants that outlived it (same pid, same cmdline)."""
    for pid, cmdline in leftovers.items():
        if cmdline is not None and command_line(pid) == cmdline:
            log(f"pid {pid} outlived its server; killing it")
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def measure(
    scenario: Scenario, row: Row, env: Env, args: argparse.Namespace, logs: Path, run: int
) -> Sample:
    port = free_port()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{scenario.name}-{row.name}").strip("-")
    server_log = logs / f"run-{slug}-{run}.log"
    server_cpu = SERVER_CPU if scenario.pinned else None
    client_cpu = CLIENT_CPU if scenario.pinned else None
    connections = args.big_connections if scenario.big_connections else args.connections

    def load(seconds: int) -> str:
        return run_wrk(
            env.wrk,
            port,
            seconds,
            connections,
            scenario.path,
            cpu=client_cpu,
            threads=scenario.wrk_threads,
            headers=scenario.headers,
        )

    process = start_server(
        row.name,
        row.command(env, port),
        server_log,
        port,
        args.start_timeout,
        scenario.check_path,
        scenario.body(env),
        cpu=server_cpu,
        cwd=row.cwd,
        env=dict(row.env) if row.env else None,
    )
    leftovers: dict[int, bytes | None] = {}
    try:
        check_engine(row, server_log)
        if scenario.check_big_body:
            check_big(port, env.programs["curl"], env.digests[BIG_PATH])
        log(f"{row.name}: warming up {args.warmup} s")
        load(args.warmup)
        # After the warm-up every worker process has started and served.
        # A CGI server's children come and go: its main process alone, the scripts reaped.
        pids = (process.pid,) if scenario.scripts else (process.pid, *descendants(process.pid))
        leftovers = {pid: command_line(pid) for pid in pids[1:]}
        log(f"{row.name}: measuring {args.duration} s ({len(pids)} process(es))")
        client_before = children_cpu()
        origin = Probe(env.origin_pids, env.origin_log or server_log, steal_cpu=CLIENT_CPU)
        with Probe(pids, server_log, steal_cpu=server_cpu) as probe, origin:
            output = load(args.duration)
        client_cpu_s = children_cpu() - client_before
        if process.poll() is not None:
            raise PeerError(f"server exited with status {process.returncode} during the run")
    finally:
        stop(process)
        reap(leftovers)
    (logs / f"run-{slug}-{run}.wrk.txt").write_text(output)
    result = parse_wrk(output)
    if result.requests == 0:
        raise PeerError("wrk completed no requests:\n" + output)
    assert result.p99_ms is not None
    if scenario.throughput:
        rate = result.bytes_read / result.seconds / 1e6
        per_unit = 1000 / (result.bytes_read / 1e9)  # CPU seconds -> ms per GB
    else:
        rate = result.requests_per_s
        per_unit = 1e6 / result.requests  # CPU seconds -> µs per request
    notes = wrk_notes(result) + probe.notes()
    cpu1_pct = 100 * (client_cpu_s + origin.cpu) / result.seconds
    if env.origin_pids and cpu1_pct > CPU1_BUSY_PERCENT:
        notes.append(
            f"CPU {CLIENT_CPU} was {cpu1_pct:.0f}% busy with wrk and the origin: the client "
            "side may be the limit"
        )
    if result.seconds > STALL_FACTOR * args.duration + 1:
        notes.append(
            f"wrk ran {result.seconds:.1f} s instead of {args.duration} s (connections left "
            "waiting at the end); the rate counts the whole time"
        )
    return Sample(
        rate=rate,
        p99_ms=result.p99_ms,
        cpu=probe.cpu * per_unit,
        wrk_cpu_pct=100 * client_cpu_s / result.seconds,
        notes=notes,
        origin_cpu=origin.cpu * per_unit if env.origin_pids else float("nan"),
        cpu1_pct=cpu1_pct if env.origin_pids else float("nan"),
        script_cpu=probe.reaped * per_unit if scenario.scripts else float("nan"),
    )


def run_scenario(
    scenario: Scenario,
    rows: list[Row],
    unusable: dict[str, str],
    env: Env,
    args: argparse.Namespace,
    logs: Path,
) -> list[RowResult]:
    """Every row `args.runs` times, interleaved; a row that fails is not retried.  The
    scenario's origin, if it has one, runs meanwhile; if it cannot start, every row is
    skipped."""
    results = [RowResult(row, skipped=unusable.get(row.name)) for row in rows]
    if scenario.origin is None or all(r.skipped for r in results):
        run_rows(scenario, results, env, args, logs)
        return results
    try:
        with scenario.origin(env, logs, args.start_timeout):
            run_rows(scenario, results, env, args, logs)
    except PeerError as exc:
        log(f"{scenario.name}: the origin failed: {summary(str(exc))}")
        for result in results:
            result.skipped = result.skipped or f"the origin: {exc}"
    return results


def run_rows(
    scenario: Scenario,
    results: list[RowResult],
    env: Env,
    args: argparse.Namespace,
    logs: Path,
) -> None:
    for run in range(1, args.runs + 1):
        for result in results:
            if result.skipped is not None:
                continue
            log(f"{scenario.name}: run {run}/{args.runs}: {result.row.name}")
            try:
                sample = measure(scenario, result.row, env, args, logs, run)
            except PeerError as exc:
                log(f"{scenario.name}: {result.row.name}: SKIPPED: {exc}")
                result.skipped = f"run {run}: {exc}"
                continue
            result.samples.append(sample)
            result.notes += [f"run {run}: {note}" for note in sample.notes]


# --- setup -----------------------------------------------------------------------------------


def plugserve_help(python: Path) -> str:
    """The output of `python -m plugserve --help`; PeerError if the command fails (a core
    being edited, say)."""
    done = subprocess.run(
        [str(python), "-m", "plugserve", "--help"], check=False, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise PeerError(f"`plugserve --help` failed: {summary(done.stdout + done.stderr)}")
    return done.stdout


def prepare(need_name: str, env: Env) -> None:
    """Install or check one Need (PeerError if it cannot be had)."""
    need = NEEDS[need_name]
    if need.program is not None:
        if need.program not in env.programs:
            env.programs[need.program] = which_or_apt(need.program, need.program, PeerError)
        return
    if need.flag is not None:
        if env.plugserve_help is None:
            env.plugserve_help = plugserve_help(env.python)
        if need.flag not in env.plugserve_help:
            raise PeerError(f"`plugserve --help` has no {need.flag} option (not implemented yet)")
        return
    ensure_installed(env.python, need_name, need.modules, need.pip_args)


def prepare_rows(rows: list[Row], env: Env) -> dict[str, str]:
    """Install what `rows` need; the reason each row that cannot run is skipped, by name."""
    failed: dict[str, str] = {}
    # Flags last: they read `plugserve --help`, which must see every plugin installed first.
    rest = sorted((n for n in NEEDS if n != "plugserve"), key=lambda n: NEEDS[n].flag is not None)
    order = ["plugserve", *rest]
    wanted = {need for row in rows for need in row.needs}
    for need_name in (n for n in order if n in wanted):
        try:
            prepare(need_name, env)
        except PeerError as exc:
            if need_name == "plugserve-wsgi":
                error = import_error(env.python, ("plugserve_wsgi",))
                exc = PeerError(f"import plugserve_wsgi failed ({error}): {exc}")
            log(f"{need_name}: unavailable: {summary(str(exc))}")
            failed[need_name] = str(exc)
    return {
        row.name: next(f"{need}: {failed[need]}" for need in row.needs if need in failed)
        for row in rows
        if any(need in failed for need in row.needs)
    }


# --- report ----------------------------------------------------------------------------------


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def ratio_text(results: list[RowResult], row_name: str, base_name: str) -> str:
    by_name = {r.row.name: r for r in results if r.samples}
    if row_name not in by_name or base_name not in by_name:
        return "n/a"
    return f"{by_name[row_name].median('rate') / by_name[base_name].median('rate'):.2f}x"


def table(scenario: Scenario, results: list[RowResult]) -> list[str]:
    rate, cpu = ("MB/s", "CPU ms/GB") if scenario.throughput else ("req/s", "CPU µs/req")
    names = {r.row.name for r in results if r.samples}
    ratios = [
        (header, base)
        for header, base in scenario.ratios
        if any(base(r.row) in names for r in results)
    ]
    head = ["peer", "server", rate, "p99 ms", cpu, "wrk CPU %"]
    origin = scenario.origin is not None
    head += [f"origin {cpu}", f"CPU {CLIENT_CPU} %"] if origin else []
    head += [f"script {cpu}", f"total {cpu}"] if scenario.scripts else []
    head += [header for header, _ in ratios] + [f"{rate} per run"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for result in results:
        cells = [result.row.name, result.row.server]
        if not result.samples:
            cells += ["skipped"] + ["—"] * (len(head) - 3)
        else:
            cells += [
                fmt_rate(result.median("rate")),
                f"{result.median('p99_ms'):.2f}",
                f"{result.median('cpu'):,.0f}",
                f"{result.median('wrk_cpu_pct'):.0f}",
            ]
            if origin:
                cells += [
                    f"{result.median('origin_cpu'):,.0f}",
                    f"{result.median('cpu1_pct'):.0f}",
                ]
            if scenario.scripts:
                total = statistics.median(s.cpu + s.script_cpu for s in result.samples)
                cells += [f"{result.median('script_cpu'):,.0f}", f"{total:,.0f}"]
            cells += [ratio_text(results, result.row.name, base(result.row)) for _, base in ratios]
            cells.append(" / ".join(fmt_rate(sample.rate) for sample in result.samples))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def target_line(scenario: Scenario, target: Target, results: list[RowResult]) -> str:
    by_name = {r.row.name: r for r in results if r.samples}
    mine, base = by_name.get(target.row), by_name.get(target.base)
    label = f"{scenario.name}, {target.what}"
    if mine is None or base is None:
        missing = target.row if mine is None else target.base
        return f"- {label}: not measured ({missing} did not run)."
    if target.p99:
        got, limit = mine.median("p99_ms"), base.median("p99_ms")
        if got <= limit:
            return f"- {label}: {got:.2f} ms against {limit:.2f} ms: **met**."
        return (
            f"- {label}: {got:.2f} ms against {limit:.2f} ms: **NOT met** "
            f"({100 * (got / limit - 1):.0f}% higher)."
        )
    if target.cpu:
        got = mine.median("cpu") / base.median("cpu")
        if got <= target.goal:
            return f"- {label}: {got:.3f}x: **met**."
        return (
            f"- {label}: {got:.3f}x: **NOT met** ({100 * (got - 1):.1f}% more CPU per "
            f"request, {100 * (target.goal - 1):g}% allowed)."
        )
    got = mine.median("rate") / base.median("rate")
    if got >= target.goal:
        return f"- {label}: {got:.2f}x: **met**."
    return (
        f"- {label}: {got:.2f}x: **NOT met** (short by {target.goal - got:.2f}x, "
        f"{100 * (1 - got / target.goal):.0f}% below {target.goal:g}x)."
    )


def notes_block(results: list[RowResult]) -> list[str]:
    notes = [f"- {r.row.name}, {note}" for r in results for note in r.notes]
    notes += [f"- {r.row.name}: skipped: {summary(r.skipped)}" for r in results if r.skipped]
    return ["", "Notes:", "", *notes] if notes else []


def git_line() -> str:
    def git(*arguments: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *arguments], check=False, capture_output=True, text=True
        )
        return done.stdout.strip()

    commit = git("log", "-1", "--format=%h %s") or "unknown commit"
    dirty = git("status", "--porcelain", "--", "core", "plugins", "bench/servers")
    state = ", with uncommitted changes in core/, plugins/ or bench/servers/" if dirty else ""
    return f"- plugserve: commit {commit}{state}"


def software_line(env: Env, dists: list[str]) -> str:
    tools = [f"Python {platform.python_version()}", wrk_version(env.wrk)]
    if "nginx" in env.programs:
        out = subprocess.run(
            [env.programs["nginx"], "-v"], check=False, capture_output=True, text=True
        )
        tools.append(out.stderr.strip().removeprefix("nginx version: "))
    if "curl" in env.programs:
        out = subprocess.run(
            [env.programs["curl"], "--version"], check=False, capture_output=True, text=True
        )
        tools.append(" ".join(out.stdout.split()[:2]))
    found = versions(env.python, dists)
    version_list = ", ".join(f"{name} {v}" for name, v in sorted(found.items()))
    return f"- software: {', '.join(tools)}; {version_list}"


def method_lines(args: argparse.Namespace) -> list[str]:
    return [
        (
            f"- method: each row {args.runs} time(s), interleaved (A B C A B C ...), each on a "
            f"freshly started server: {args.warmup} s of warm-up, then {args.duration} s of "
            f"`wrk -t1 -c{args.connections} --latency` ({args.big_connections} connections for "
            f"the 100 MiB file); server pinned to CPU {SERVER_CPU} and wrk to CPU {CLIENT_CPU} "
            "(workers scenario: neither pinned, wrk -t2; a scenario's origin server, if any, "
            f"on CPU {CLIENT_CPU} beside wrk). Columns are medians over the runs; ratios are "
            "ratios of the median rates. CPU = the server's user+system time (all its "
            "processes and threads, from /proc; for a proxy, the proxy's alone) over the "
            "measured run. No access logs."
        ),
    ]


def report(
    tables: dict[str, list[RowResult]],
    args: argparse.Namespace,
    env: Env,
    dists: list[str],
    load_before: str,
    started: str,
    minutes: float,
) -> str:
    command = shlex.join(["python3", "bench/run.py", *sys.argv[1:]])
    targets: list[str] = []
    sections: list[str] = []
    for name, results in tables.items():
        scenario = SCENARIOS[name]
        lines = [target_line(scenario, target, results) for target in scenario.targets]
        selected = {r.row.name for r in results}
        lines = [
            line
            for line, target in zip(lines, scenario.targets, strict=True)
            if {target.row, target.base} <= selected
        ]
        targets += lines
        sections += [
            "",
            f"## {scenario.title}",
            "",
            f"`{name}`: {scenario.description}",
            "",
            *table(scenario, results),
            *(["", "Targets:", "", *lines] if lines else []),
            *notes_block(results),
        ]
    head = [
        "# plugserve benchmark results",
        "",
        f"- run: {started} ({minutes:.0f} min), `{command}`",
        machine_line(load_before) + f", after the run {loadavg()}",
        git_line(),
        software_line(env, dists),
        *method_lines(args),
    ]
    if float(load_before.split()[0]) > QUIET_LOAD:
        head.append(
            f"- **warning**: 1-minute load average {load_before.split()[0]} before the run "
            f"(above {QUIET_LOAD}): other processes shared the CPUs, the figures are not reliable"
        )
    if targets:
        head += ["", "## Targets", "", *targets]
    return "\n".join(head + sections) + "\n"


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="comma-separated, run in this order (default and known: %(default)s)",
    )
    parser.add_argument(
        "--peers",
        default=",".join(PEERS),
        help="comma-separated; each scenario runs those that apply, in its own order "
        "(default and known: %(default)s)",
    )
    parser.add_argument("--runs", type=int, help="measurements per row, interleaved (3)")
    parser.add_argument("--duration", type=int, help="seconds of measured load per run (10)")
    parser.add_argument("--warmup", type=int, help="seconds of unmeasured load first (2)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections")
    parser.add_argument(
        "--big-connections", type=int, default=4, help="wrk connections, 100 MiB file"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 1 run of 3 s after 1 s of warm-up (unless given)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="report file (default: bench/RESULTS.md for a full run of every scenario and "
        "peer without --quick, else VENV/bench-logs/last-run.md)",
    )
    add_setup_arguments(parser)
    args = parser.parse_args(argv)
    args.full = (
        not args.quick
        and args.scenarios == parser.get_default("scenarios")
        and args.peers == parser.get_default("peers")
    )
    args.scenarios = split_names(parser, args.scenarios, list(SCENARIOS), "scenario")
    args.peers = split_names(parser, args.peers, PEERS, "peer")
    quick = args.quick
    args.runs = args.runs if args.runs is not None else (1 if quick else 3)
    args.duration = args.duration if args.duration is not None else (3 if quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 2)
    numbers = (args.runs, args.duration, args.warmup, args.connections, args.big_connections)
    if min(numbers) < 1:
        parser.error("runs, durations and connection counts must be at least 1")
    return args


def selected_rows(args: argparse.Namespace) -> dict[str, list[Row]]:
    return {
        name: [row for row in SCENARIOS[name].rows if row.peer in args.peers]
        for name in args.scenarios
    }


def main(argv: list[str] | None = None) -> int:
    set_log_tag("run")
    args = parse_args(argv)
    rows = selected_rows(args)
    all_rows = [row for scenario_rows in rows.values() for row in scenario_rows]
    if not all_rows:
        log("error: none of the selected peers applies to the selected scenarios")
        return 2
    files_needed = any(SCENARIOS[name].check_path == SMALL_PATH for name in rows)
    curl_needed = any(SCENARIOS[name].check_big_body for name in rows)
    try:
        check_machine()
        wrk = ensure_wrk()
        python = ensure_venv(args.venv.resolve())
        programs = {"curl": which_or_apt("curl", "curl")} if curl_needed else {}
    except SetupError as exc:
        log(f"error: {exc}")
        return 2
    logs = args.venv.resolve() / "bench-logs"
    logs.mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="plugserve-bench-run-"))
    scratch.chmod(0o755)  # nginx's worker runs as nobody: it must reach the files
    env = Env(python=python, wrk=wrk, scratch=scratch, programs=programs)
    try:
        unusable = prepare_rows(all_rows, env)
        if files_needed:
            env.docroot = scratch / "www"
            log(f"writing the test files into {env.docroot}")
            env.digests = make_files(env.docroot)
        measurements = sum(len(r) for r in rows.values()) * args.runs
        estimate = measurements * (args.warmup + args.duration + OVERHEAD_S) / 60
        load_before = loadavg()
        log(f"{measurements} measurements, about {estimate:.0f} min; load {load_before}")
        if float(load_before.split()[0]) > QUIET_LOAD:
            log(f"warning: the machine is not quiet (load above {QUIET_LOAD}); figures will vary")
        started, clock = utc_now(), time.monotonic()
        tables = {
            name: run_scenario(SCENARIOS[name], rows[name], unusable, env, args, logs)
            for name in args.scenarios
            if rows[name]
        }
        minutes = (time.monotonic() - clock) / 60
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    dists = sorted({d for row in all_rows for need in row.needs for d in NEEDS[need].dists})
    text = report(tables, args, env, dists, load_before, started, minutes)
    output = args.output or (RESULTS_FILE if args.full else logs / "last-run.md")
    output.write_text(text)
    print(text, end="")
    log(f"written to {output}")
    return 1 if any(r.skipped for results in tables.values() for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
