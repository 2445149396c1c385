"""Starting a server from Python: `serve` (async, returns the running server) and `run` (blocks
until SIGINT/SIGTERM), used by scripts, the CLI and the pytest fixture alike."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import socket
import sys
from collections.abc import Callable, Sequence

import pluggy

from ._defaults import AccessLogPlugin
from ._plugins import Hooks, make_plugin_manager
from ._transport.listener import Server
from .config import Config
from .endpoints import Endpoint
from .mounts import Mount, MountedRoot, mount
from .resource import IResource, NoResource
from .server import Site

__all__ = [
    "build_root",
    "mount_lines",
    "prepare_site",
    "serve",
    "serve_sockets",
    "serve_until_signal",
    "stop",
]


def prepare_site(site: Site, config: Config, hooks: Hooks) -> None:
    """Apply the configuration and the plugins' registrations to a Site."""
    site.hooks = hooks
    if config.display_tracebacks:
        site.displayTracebacks = True
    for name, value in config.add_headers:
        site.add_header(name, value)
    rules = hooks.rewrite_rules(config)
    if rules:
        site.rewriteRules = [*rules, *site.rewriteRules]
    if config.encode:
        available = hooks.encoders(config)
        site.use_encoders([available[name] for name in config.encode if name in available])
    site.config = config
    if config.session_timeout_s != Config.session_timeout_s:  # only when asked for
        site.sessionTimeout = config.session_timeout_s


def build_root(
    given: Site | IResource | None, config: Config, hooks: Hooks
) -> tuple[Site | IResource | None, list[Mount], Config]:
    """The root (from --config, else the plugins), with every plugin's mounts beside it; the
    config returned is the one the plugins were asked with (processors and hook filled in)."""
    config = hooks.with_processors(config)
    root = given if given is not None else hooks.make_root(config)
    mounts = hooks.mounts(config)
    return mount(root, mounts), mounts, config


def mount_lines(site_or_root: Site | IResource, mounts: Sequence[Mount]) -> list[str]:
    """`/ -> File` and `/app -> WSGIResource (plugin wsgi)`: what serves which prefix."""
    if not mounts:
        return []
    root = site_or_root.resource if isinstance(site_or_root, Site) else site_or_root
    inner = root.root if isinstance(root, MountedRoot) else root
    what = type(inner).__name__ if not isinstance(inner, NoResource) else "nothing (404)"
    return [f"mount / -> {what}", *(f"mount {m.describe()}" for m in mounts)]


def _as_site(site_or_resource: Site | IResource) -> Site:
    return site_or_resource if isinstance(site_or_resource, Site) else Site(site_or_resource)


def default_plugin_manager(config: Config, log_path: str | None = None) -> pluggy.PluginManager:
    """The core's defaults only (no autoloaded plugins), plus the access log if enabled, to
    config.logfile, else `log_path` (Twisted's `Site(logPath=...)`), else stderr."""
    pm = make_plugin_manager()
    if config.access_log:
        pm.register(AccessLogPlugin(config.logfile or log_path), name="access-log")
    return pm


async def serve(
    site_or_resource: Site | IResource,
    *endpoints: str,
    config: Config | None = None,
    hooks: Hooks | None = None,
) -> Server:
    """Start serving on `endpoints` (default: config.listen) and return the running Server."""
    config = config or Config()
    if endpoints:
        config = dataclasses.replace(config, listen=tuple(endpoints))
    server = _new_server(site_or_resource, config, hooks)
    await server.start(config.listen)
    return server


async def serve_sockets(
    site_or_resource: Site | IResource,
    bound: Sequence[tuple[Endpoint, Sequence[socket.socket]]],
    *,
    config: Config,
    hooks: Hooks | None = None,
    load_gate: Callable[[int], bool] | None = None,
) -> Server:
    """`serve`, on sockets already bound and listening (a worker's; see _workers/start.py)."""
    server = _new_server(site_or_resource, config, hooks)
    await server.start_on(bound, load_gate)
    return server


def _new_server(site_or_resource: Site | IResource, config: Config, hooks: Hooks | None) -> Server:
    site = _as_site(site_or_resource)
    if hooks is None:
        hooks = Hooks(default_plugin_manager(config, site.logPath))
        hooks.configure(config)
    prepare_site(site, config, hooks)
    return Server(site, config, hooks)


async def stop(server: Server, grace_s: float = 0.0) -> None:
    """The graceful stop: close the server (see Server.close), then the plugins' unconfigure."""
    await server.close(grace_s=grace_s)
    hooks = server.hooks
    if hooks is not None:
        await hooks.unconfigure(server.config)


async def serve_until_signal(server: Server) -> None:
    """Print the addresses, then wait for SIGINT/SIGTERM and stop gracefully."""
    for address in server.addresses:
        print(f"plugserve: listening on {address}", flush=True)
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop_event.set)
    await stop_event.wait()
    print("plugserve: shutting down", file=sys.stderr, flush=True)
    await stop(server)
