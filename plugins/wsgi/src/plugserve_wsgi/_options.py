"""The command-line options of plugserve-wsgi, their checks, and the WSGIResource they describe.

`--wsgi SPEC` is checked when the command starts (the module is imported, the name looked up),
so a typo is a usage error (exit 2) before anything listens; a factory (`module:create_app()`)
is called once, when the root is made.  The pool made for `--wsgi-threads` (or the default
size) is shut down when the server stops.
"""

from __future__ import annotations

import argparse

from plugserve.cli import positive_int
from plugserve.config import Config
from plugserve.error import UsageError

from ._resource import WSGIResource
from ._spec import load_application, parse_spec
from ._threads import WorkerPool, default_threads

__all__ = ["add_options", "check_options", "make_root", "shutdown"]

#: The pools made by make_root, shut down by `shutdown` (at the end of the run).
_pools: list[WorkerPool] = []


def add_options(group: argparse._ArgumentGroup) -> None:
    """Add --wsgi and --wsgi-threads."""
    group.add_argument("--wsgi", metavar="MODULE:APP",
                       help="serve this WSGI application at the root: module:app, module.app "
                       "or module:create_app() (the current directory is importable)")
    group.add_argument("--wsgi-threads", type=positive_int, metavar="N",
                       help=f"threads running the application (default {default_threads()}: "
                       "min(32, CPUs + 4))")


def check_options(config: Config) -> None:
    """UsageError for a --wsgi that names no callable, or --wsgi-threads alone."""
    spec = config.option("wsgi")
    if spec is None:
        if config.option("wsgi_threads") is not None:
            raise UsageError("--wsgi-threads needs --wsgi MODULE:APP")
        return
    load_application(parse_spec(spec), call_factory=False)


def make_root(config: Config) -> WSGIResource | None:
    """The WSGIResource for --wsgi, with its own pool; None without --wsgi."""
    spec = config.option("wsgi")
    if spec is None:
        return None
    application = load_application(parse_spec(spec))
    threads = config.option("wsgi_threads") or default_threads()
    pool = WorkerPool(threads)
    _pools.append(pool)
    return WSGIResource(None, pool, application)


def shutdown() -> None:
    """Stop the pools made by make_root: no new work; running calls finish on their own."""
    while _pools:
        _pools.pop().shutdown(wait=False, cancel_futures=True)
