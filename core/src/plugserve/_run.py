"""Starting a server from Python: `serve` (async, returns the running server) and the pieces
`plugserve.run` (_entry.py), the CLI, the workers and the pytest fixture share."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from typing import cast

import pluggy

from ._defaults import AccessLogPlugin
from ._factory import HTTPFactory
from ._plugins import Hooks, make_plugin_manager
from ._transport.listener import ChannelFactory, Server
from ._transport.routing import FactoryRouting
from .config import Config
from .endpoints import Endpoint
from .error import UsageError
from .mounts import Mount, MountedRoot, mount
from .resource import IResource, NoResource
from .server import Site

#: What can be served: a Site, another protocol factory (an HTTPFactory), or a root resource.
Served = Site | HTTPFactory | IResource

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
    given: Served | None, config: Config, hooks: Hooks
) -> tuple[Served | None, list[Mount], Config]:
    """The root (from --config, else the plugins), with every plugin's mounts beside it; the
    config returned is the one the plugins were asked with (processors and hook filled in).
    A factory that is not a Site is served as it is: it has no resource tree to mount into."""
    config = hooks.with_processors(config)
    root = given if given is not None else hooks.make_root(config)
    mounts = hooks.mounts(config)
    if is_factory(root):
        if mounts:
            prefixes = ", ".join(m.prefix for m in mounts)
            raise UsageError(f"the --config factory has no resource tree to mount {prefixes} "
                             "in; serve a Site, or drop the options that mount")
        return root, [], config
    return mount(root, mounts), mounts, config  # type: ignore[arg-type]


def mount_lines(site_or_root: Served, mounts: Sequence[Mount]) -> list[str]:
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
    site_or_resource: Served,
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
    site_or_resource: Served,
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


def _new_server(served: Served, config: Config, hooks: Hooks | None) -> Server:
    if is_factory(served):
        # A factory that is not a Site: its channels' requests process themselves.
        routing = FactoryRouting(served, Site.serverName)
        routing.extraHeaders = [(name.lower(), value) for name, value in config.add_headers]
        if hooks is None:
            hooks = Hooks(default_plugin_manager(config, getattr(served, "logPath", None)))
            hooks.configure(config)
        return Server(routing, config, hooks, factory=cast("ChannelFactory", served))
    site = _as_site(served)  # type: ignore[arg-type]
    if hooks is None:
        hooks = Hooks(default_plugin_manager(config, site.logPath))
        hooks.configure(config)
    prepare_site(site, config, hooks)
    # A Site's channels are made by the listener, unless a subclass builds its own.
    own = type(site).buildProtocol is not Site.buildProtocol
    return Server(site, config, hooks, factory=site if own else None)


def is_factory(served: object) -> bool:
    """True for a protocol factory that is not a Site (it has Twisted's `buildProtocol`)."""
    return not isinstance(served, Site) and callable(getattr(served, "buildProtocol", None))


async def stop(server: Server, grace_s: float = 0.0) -> None:
    """The graceful stop: close the server (see Server.close), then the plugins' unconfigure."""
    await server.close(grace_s=grace_s)
    hooks = server.hooks
    if hooks is not None:
        await hooks.unconfigure(server.config)


async def serve_until_signal(server: Server) -> None:
    """Print the addresses, then wait for SIGINT/SIGTERM and stop gracefully.  The handlers
    are installed first: whoever starts the server may signal it as soon as it reads the
    listening line, and must get the graceful stop (lock and socket removed), not a kill."""
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop_event.set)
    for address in server.addresses:
        print(f"plugserve: listening on {address}", flush=True)
    await stop_event.wait()
    print("plugserve: shutting down", file=sys.stderr, flush=True)
    await stop(server)
