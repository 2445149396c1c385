"""The rows and scenarios of bench/run.py: what a row is (a server, its command line, what it
needs installed), what a scenario is (the load, its rows, its targets), and the helpers that
build command lines.  run.py, proxy.py, vhost.py and cgi_scenarios.py build their scenarios
from these.

Only the standard library is used.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from _common import HOST, SERVERS_DIR
from static import SMALL_PATH

HELLO = b"Hello, world!"
ENGINES = ("h11", "httptools")


@dataclass(frozen=True)
class Need:
    """Something rows need: Python modules (pip-installed into the venv when they do not
    import), a Debian program, or a flag of the `plugserve` command."""

    modules: tuple[str, ...] = ()
    pip_args: tuple[str, ...] = ()
    dists: tuple[str, ...] = ()  # distributions whose versions go into the report
    program: str | None = None  # Debian program (and package of the same name)
    flag: str | None = None  # must appear in `python -m plugserve --help`


@dataclass
class Env:
    """What command lines and checks need, filled in by setup."""

    python: Path
    wrk: str
    scratch: Path
    docroot: Path | None = None
    digests: dict[str, str] = field(default_factory=dict)
    programs: dict[str, str] = field(default_factory=dict)  # Debian program -> path
    plugserve_help: str | None = None
    # While a scenario's origin runs (proxy.py): its port, processes and log.
    origin_port: int | None = None
    origin_pids: tuple[int, ...] = ()
    origin_log: Path | None = None


Command = Callable[[Env, int], list[str]]


@dataclass(frozen=True)
class Row:
    """One server in one scenario."""

    name: str  # shown in the table; unique within a scenario
    peer: str  # what --peers selects
    server: str  # what it is, for the table
    command: Command  # its command line for a port
    needs: tuple[str, ...]
    engine: str | None = None  # plugserve: the engine its startup line must name
    cwd: Path | None = None
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Target:
    """A target of the issues: `row`'s rate ≥ `goal` times `base`'s rate (or, `p99`, `row`'s
    p99 latency not above `base`'s; or, `cpu`, `row`'s CPU per request at most `goal` times
    `base`'s)."""

    what: str
    row: str
    base: str
    goal: float = 1.0
    p99: bool = False
    cpu: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str  # a sentence for the report: what load, on what
    rows: tuple[Row, ...]
    path: str = "/"  # what wrk loads
    check_path: str = "/"  # what must answer `body` before the load starts
    throughput: bool = False  # MB/s and CPU ms/GB instead of req/s and CPU µs/req
    pinned: bool = True  # server on SERVER_CPU, wrk on CLIENT_CPU; else neither pinned
    wrk_threads: int = 1
    headers: tuple[str, ...] = ()  # added to every request by wrk
    big_connections: bool = False  # --big-connections instead of --connections
    check_big_body: bool = False  # download the 100 MiB file and check it before loading
    ratios: tuple[tuple[str, Callable[[Row], str]], ...] = ()  # (column, base row name)
    targets: tuple[Target, ...] = ()
    # A server the rows depend on (proxy.py's origin), up for the whole scenario: called with
    # (env, log directory, start timeout), it fills in env.origin_*; PeerError if it fails.
    origin: Callable[[Env, Path, float], AbstractContextManager[None]] | None = None
    answer: bytes = HELLO  # the body check_path must answer (unless it is the 4 KiB file)
    # The server starts a process per request (cgi_scenarios.py): its own CPU is its main
    # process's alone (its children come and go), and the CPU time of the children it reaped
    # during the run gets columns of its own.
    scripts: bool = False

    def body(self, env: Env) -> bytes:
        if self.check_path == SMALL_PATH:
            assert env.docroot is not None
            return (env.docroot / SMALL_PATH.lstrip("/")).read_bytes()
        return self.answer


def python_script(script: str, *extra: str) -> Command:
    def command(env: Env, port: int) -> list[str]:
        return [str(env.python), str(SERVERS_DIR / script), str(port), *extra]

    return command


def plugserve(engine: str, *options: str) -> Command:
    """`python -m plugserve OPTIONS --listen ... --no-access-log --http ENGINE`; `{docroot}`
    in OPTIONS is replaced by the static files' directory."""

    def command(env: Env, port: int) -> list[str]:
        filled = [option.replace("{docroot}", str(env.docroot)) for option in options]
        return [
            str(env.python),
            "-m",
            "plugserve",
            *filled,
            "--listen",
            f"tcp:{port}:interface={HOST}",
            "--no-access-log",
            "--http",
            engine,
        ]

    return command


def engine_needs(engine: str) -> tuple[str, ...]:
    return ("plugserve", "--http") + (("plugserve-fast",) if engine == "httptools" else ())


def engine_rows(
    options: str,
    command: Callable[[str], Command],
    needs: tuple[str, ...] = (),
    cwd: Path | None = None,
    env: tuple[tuple[str, str], ...] = (),
) -> list[Row]:
    """The plugserve rows of a scenario, one per engine: `plugserve-ENGINE`, shown as
    `plugserve OPTIONS --http ENGINE`, run by `command(engine)`, needing what the engine needs
    and `needs`."""
    return [
        Row(
            f"plugserve-{engine}",
            f"plugserve-{engine}",
            " ".join(filter(None, ("plugserve", options, "--http", engine))),
            command(engine),
            (*engine_needs(engine), *needs),
            engine=engine,
            cwd=cwd,
            env=env,
        )
        for engine in ENGINES
    ]


def vs(name: str) -> Callable[[Row], str]:
    return lambda row: name


def p99_targets(rows: tuple[Row, ...], base: str = "twisted") -> tuple[Target, ...]:
    return tuple(
        Target(f"{row.name} p99 latency not above {base}'s", row.name, base, p99=True)
        for row in rows
        if row.peer.startswith("plugserve")
    )


def rate_target(what: str, row: str, base: str, goal: float) -> Target:
    return Target(f"{what}: {row} ≥ {goal:g}x {base}", row, base, goal)


def cpu_target(what: str, row: str, base: str, goal: float) -> Target:
    return Target(f"{what}: {row} CPU/req ≤ {goal:g}x {base}'s", row, base, goal, cpu=True)
