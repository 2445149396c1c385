"""`plugserve.run`: serve from a script until SIGINT/SIGTERM, in one process or as the
supervisor of `workers` forked ones.  It sits above the processes layer (which itself runs
servers through `_run`), so it is a module of its own."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import Any

from ._run import Served, serve, serve_until_signal
from ._workers.start import serve_workers
from .config import Config

__all__ = ["run"]


def run(site_or_resource: Served, *endpoints: str, **settings: Any) -> None:
    """Serve until SIGINT/SIGTERM: `plugserve.run(Site(root), "tcp:8080")`.

    Keyword arguments are Config fields (`max_body_bytes=...`, `logfile=...`, `workers=4`).
    With `workers` above 1 the calling process becomes the supervisor of that many forked
    workers, each serving the objects built before the call (see docs/cli.md)."""
    config = Config(**settings)
    if config.workers > 1:
        if endpoints:
            config = dataclasses.replace(config, listen=tuple(endpoints))
        status = serve_workers(site_or_resource, config, None,
                               lambda: run(site_or_resource, *endpoints, **settings))
        if status:
            raise SystemExit(status)
        return

    async def main() -> None:
        server = await serve(site_or_resource, *endpoints, config=config)
        await serve_until_signal(server)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
