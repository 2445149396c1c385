"""The command-line options of plugserve-wsgi, their checks, and the WSGIResources they describe.

`--wsgi SPEC` serves an application at the root, `--wsgi /PREFIX=SPEC` under a prefix (through
`plugserve_mounts`); the option repeats, with at most one root.  Every spec is checked when the
command starts (the module is imported, the name looked up), so a typo is a usage error (exit
2) before anything listens; a factory (`module:create_app()`) is called once, when its resource
is made.  Each application gets a pool of `--wsgi-threads` (or the default size), shut down
when the server stops.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from plugserve.cli import positive_int
from plugserve.config import Config
from plugserve.error import UsageError
from plugserve.mounts import split_prefixed

from ._resource import WSGIResource
from ._spec import load_application, parse_spec
from ._threads import WorkerPool, default_threads

__all__ = ["add_options", "check_options", "make_root", "mounts", "shutdown"]

#: The pools made by make_root, shut down by `shutdown` (at the end of the run).
_pools: list[WorkerPool] = []


def add_options(group: argparse._ArgumentGroup) -> None:
    """Add --wsgi and --wsgi-threads."""
    group.add_argument("--wsgi", action="append", metavar="[/PREFIX=]MODULE:APP",
                       help="serve this WSGI application: module:app, module.app or "
                       "module:create_app() (the current directory is importable); at the root, "
                       "or under /PREFIX with /PREFIX=module:app (repeatable, one root at most)")
    group.add_argument("--wsgi-threads", type=positive_int, metavar="N",
                       help=f"threads running each application (default {default_threads()}: "
                       "min(32, CPUs + 4))")


def _entries(config: Config) -> list[tuple[str | None, str]]:
    """(prefix or None for the root, spec) of every --wsgi; UsageError for two roots or a
    prefix given twice."""
    value = config.option("wsgi")
    values: Sequence[str] = () if value is None else [value] if isinstance(value, str) else value
    entries: dict[str | None, str] = {}
    for text in values:
        prefix, spec = split_prefixed(text, "--wsgi")
        if prefix in entries:
            where = f"under {prefix}" if prefix else "at the root (no /PREFIX=)"
            raise UsageError(f"--wsgi {text}: --wsgi {entries[prefix]} is served {where} "
                             "already; give each application its own /PREFIX=")
        entries[prefix] = spec
    return list(entries.items())


def check_options(config: Config) -> None:
    """UsageError for a --wsgi that names no callable, or --wsgi-threads alone."""
    entries = _entries(config)
    if not entries and config.option("wsgi_threads") is not None:
        raise UsageError("--wsgi-threads needs --wsgi MODULE:APP")
    for _prefix, spec in entries:
        load_application(parse_spec(spec), call_factory=False)


def make_root(config: Config) -> WSGIResource | None:
    """The WSGIResource for --wsgi SPEC, with its own pool; None without one."""
    for prefix, spec in _entries(config):
        if prefix is None:
            return _resource(spec, config)
    return None


def mounts(config: Config) -> dict[str, WSGIResource]:
    """A WSGIResource, each with its own pool, for every --wsgi /PREFIX=SPEC."""
    return {prefix: _resource(spec, config)
            for prefix, spec in _entries(config) if prefix is not None}


def _resource(spec: str, config: Config) -> WSGIResource:
    application = load_application(parse_spec(spec))
    threads = config.option("wsgi_threads") or default_threads()
    pool = WorkerPool(threads)
    _pools.append(pool)
    return WSGIResource(None, pool, application)


def shutdown() -> None:
    """Stop the pools made by make_root: no new work; running calls finish on their own."""
    while _pools:
        _pools.pop().shutdown(wait=False, cancel_futures=True)
