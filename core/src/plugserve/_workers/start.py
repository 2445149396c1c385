# Theory of operation
#
# `--workers N` (N > 1) turns the `plugserve` process into a supervisor.  It binds every endpoint
# once (endpoints.bind_sockets: `tcp:0` gets one port, a UNIX socket one file), then forks N
# workers.  A worker inherits the listening sockets and runs the command's own entry point again
# (`main(argv)`, or the script's `run(...)`), so the configuration file, the plugins' roots, their
# thread pools and the access log file are made in the worker, after the fork: nothing with a
# thread or a loop crosses a fork.  When that entry point reaches the point where it would bind
# and serve, it finds the worker context set below and serves the inherited sockets instead
# (`serve_workers`), and tells the supervisor it is ready by writing its pid on a pipe.
#
# Every worker accepts from the same kernel queue, so a connection waits there until some worker
# takes it: a worker that stops (crash, reload) takes no queued connection with it, and no
# connection is refused while at least one worker runs.  Every worker wakes for each connection
# and the first awake takes it, which would favour one of them; so each worker posts its number of
# open connections on a LoadBoard (shared memory) and leaves a connection, for a moment, to a
# worker that has fewer (least connections; see endpoints.listen_on).
#
# The supervisor is a plain loop over blocked signals (sigtimedwait) and the ready pipe, with no
# event loop and no threads, so that forking from it is safe:
#
#   SIGCHLD   a worker exited: expected (we stopped it) or a crash, which is logged and replaced,
#             with a growing delay, giving up (exit 1) after CRASH_LIMIT crashes in CRASH_WINDOW_S
#   SIGHUP    reload: N new workers start (re-reading the configuration file), and once all of
#             them are ready the old ones are stopped gracefully; if one fails to start, the
#             new ones are stopped and the old ones keep serving
#   SIGTERM,  graceful stop: every worker gets SIGTERM, finishes its requests in flight (within
#   SIGINT    --shutdown-timeout, SIGKILL after that and a margin), then the supervisor exits 0
#
# A worker ignores SIGINT and SIGHUP (the supervisor decides), stops gracefully on SIGTERM, and
# also when the supervisor dies: it holds the read end of a "lifeline" pipe whose only write end
# is the supervisor's, and EOF on it means the supervisor is gone.
#
# This module is the entry point; the worker side (the load board, what a worker inherits, its
# serving) is worker.py, and the supervisor's loop is supervisor.py.
from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._log import configure_error_log
from ..endpoints import Endpoint, bind_sockets, parse_endpoint
from ..error import UsageError
from .supervisor import Supervisor
from .worker import LoadBoard, current_context, serve_in_worker, usage_error

if TYPE_CHECKING:
    from .._plugins import Hooks
    from .._run import Served
    from ..config import Config

__all__ = ["LoadBoard", "serve_workers"]


def serve_workers(
    site_or_root: Served,
    config: Config,
    hooks: Hooks | None,
    worker_main: Callable[[], object],
) -> int:
    """Serve with `config.workers` processes; return the exit status.

    In the supervisor (the first call), bind the sockets and fork workers that each call
    `worker_main()`, the command's entry point, which builds the site again and comes back
    here; in a worker, serve `site_or_root` on the inherited sockets until told to stop."""
    context = current_context()
    if context is not None:
        return serve_in_worker(site_or_root, config, hooks, context)
    configure_error_log()
    if config.pidfile:  # as a single process does: before binding, removed in any case
        with open(config.pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
    bound: list[tuple[Endpoint, list[socket.socket]]] = []
    try:
        try:
            for endpoint in map(parse_endpoint, config.listen):
                bound.append((endpoint, bind_sockets(endpoint)))
        except UsageError as exc:
            return usage_error(str(exc))
        except OSError as exc:
            return usage_error(f"cannot listen: {exc}")
        return Supervisor(config, bound, worker_main).run()
    finally:
        for _, sockets in bound:
            for sock in sockets:
                sock.close()
        if hooks is not None:  # the supervisor's own build (it checked the command line)
            asyncio.run(hooks.unconfigure(config))
        if config.pidfile:
            with contextlib.suppress(OSError):
                os.unlink(config.pidfile)
