"""The `plugserve` command.

Parsing happens in two phases, as in pytest: `--plugin`, `--no-plugin` and `--config` are read
first, the plugins are loaded, and only then is the full parser built (one argparse group per
plugin) and the command line parsed again.  The root comes from `--config`, else from the
selected plugins, else from whichever plugin recognises the options given.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Final, NoReturn, TypeVar

import pluggy

from ._config_file import load_config_file
from ._defaults import AccessLogPlugin
from ._known import KNOWN_PLUGINS, missing_option, plugin_state
from ._log import configure_error_log
from ._plugins import Hooks, PluginRecord, call_impl, load_plugins, make_plugin_manager
from ._protocol.engines import ENGINES, engine_name
from ._run import Served, build_root, mount_lines, serve, serve_until_signal
from ._version import __version__
from ._workers.start import serve_workers
from ._workers.worker import current_context
from .config import Config
from .error import UsageError

__all__ = ["byte_size", "main", "positive_int"]

_N = TypeVar("_N", int, float)
_SIZE_RE = re.compile(r"(\d+)\s*([kKmMgG]i?[bB]?)?")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def byte_size(text: str) -> int:
    """`65536`, `64K`, `10M`, `1G` (binary units) -> bytes; used by the size flags."""
    match = _SIZE_RE.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 16384, 64K, 10M)")
    unit = (match.group(2) or "")[:1].lower()
    return int(match.group(1)) * _UNITS[unit]


def _number(text: str, kind: Callable[[str], _N], ok: Callable[[_N], bool], what: str) -> _N:
    """`text` as a number of `kind` for which `ok` holds, else the argparse error saying `what`
    it must be: one parser for every numeric flag."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be {what}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be {what}")
    return value


def _positive_float(text: str) -> float:
    return _number(text, float, lambda value: value > 0, "a positive number of seconds")


def _rate(text: str) -> float:
    return _number(text, float, lambda value: value >= 0, "bytes per second, 0 or more")


def _count(text: str) -> int:
    return _number(text, int, lambda value: value >= 0, "a whole number, 0 or more")


def positive_int(text: str) -> int:
    """An argparse `type` for a count that must be 1 or more (plugins use it for their options)."""
    return _number(text, int, lambda value: value > 0, "a whole number above 0")


def _header(text: str) -> tuple[bytes, bytes]:
    name, sep, value = text.partition(":")
    if not sep or re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name.strip()) is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'Name: Value'")
    return name.strip().lower().encode("ascii"), value.strip().encode("utf-8")




#: (flag, Config field, type, help) of every limit: each has a default, a flag and a test.
_LIMIT_FLAGS: Final = (
    ("--max-request-line", "max_request_line_bytes", byte_size, "request line (414 past it)"),
    ("--max-header-bytes", "max_header_bytes", byte_size, "request head (431 past it)"),
    ("--max-headers", "max_header_count", positive_int, "number of request headers (431)"),
    ("--max-body", "max_body_bytes", byte_size, "request body (413)"),
    ("--max-chunk-line", "max_chunk_line_bytes", byte_size,
     "chunk-size line of a chunked body, extensions included (400 past it)"),
    ("--max-empty-lines", "max_empty_lines", _count,
     "empty lines ignored before a request line (400 past it)"),
    ("--header-timeout", "header_timeout_s", _positive_float,
     "seconds to receive a request head (408)"),
    ("--body-timeout", "body_timeout_s", _positive_float,
     "seconds of silence while receiving a body (408)"),
    ("--min-body-rate", "min_body_rate_bytes_s", _rate,
     "bytes per second a request body must average once the grace period is over (408); "
     "0 turns the check off"),
    ("--min-body-rate-grace", "min_body_rate_grace_s", _positive_float,
     "seconds a body gets before --min-body-rate applies, and the most credit a fast "
     "start earns"),
    ("--send-timeout", "send_timeout_s", _positive_float,
     "seconds without progress in sending a response before the connection is closed"),
    ("--linger-timeout", "linger_timeout_s", _positive_float,
     "seconds to read and drop what a client still sends after the answer that ends its "
     "connection, so that it reads the answer instead of a reset"),
    ("--max-linger", "max_linger_bytes", byte_size,
     "bytes read and dropped that way, and of an unread body after an early answer"),
    ("--stream-window", "stream_window_bytes", byte_size,
     "unread bytes of a streamed request body held before the server stops reading it"),
    ("--keepalive-timeout", "keepalive_timeout_s", _positive_float,
     "seconds an idle kept-alive connection stays open"),
    ("--tunnel-idle-timeout", "tunnel_idle_timeout_s", _positive_float,
     "seconds a connection taken over (a CONNECT tunnel, a 101 upgrade) may stay without a "
     "byte in either direction"),
    ("--max-connections", "max_connections", positive_int,
     "open connections, tunnels included (503 past it)"),
    ("--shutdown-timeout", "shutdown_timeout_s", _positive_float,
     "seconds requests in flight get to finish on SIGINT/SIGTERM"),
    ("--session-timeout", "session_timeout_s", _positive_float,
     "seconds of inactivity after which a session expires"),
)


def _pre_parse(argv: Sequence[str]) -> argparse.Namespace:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--plugin", action="append", default=[])
    pre.add_argument("--no-plugin", action="append", default=[])
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    return known


def build_parser(pm: pluggy.PluginManager) -> argparse.ArgumentParser:
    """The full parser: the core's options, then one group per plugin."""
    parser = argparse.ArgumentParser(
        prog="plugserve",
        description="Serve a site: files, WSGI apps, proxies, ... each feature a plugin. "
        "'plugserve plugins' lists the installed plugins.",
    )
    core = parser.add_argument_group("core")
    core.add_argument("--version", action="version", version=f"plugserve {__version__}")
    core.add_argument("--listen", action="append", metavar="ENDPOINT",
                      help="where to listen (repeatable): tcp:PORT[:interface=ADDR][:backlog=N], "
                      "tcp6:PORT, unix:PATH[:mode=0660], ssl:PORT:privateKey=KEY:certKey=CERT "
                      "(default tcp:8080)")
    core.add_argument("--plugin", action="append", default=[], metavar="NAME",
                      help="load (by entry-point name or dotted module path) and select a plugin")
    core.add_argument("--no-plugin", action="append", default=[], metavar="NAME",
                      help="do not load this plugin")
    core.add_argument("--config", metavar="FILE.py",
                      help="a Python file defining `root` (a Resource) or `site` (a Site), "
                      "and optionally `listen`")
    core.add_argument("--logfile", metavar="PATH",
                      help="access log file (default stderr; '-' for stdout)")
    core.add_argument("--no-access-log", action="store_true", help="do not write an access log")
    core.add_argument("--add-header", action="append", default=[], type=_header,
                      metavar="'NAME: VALUE'", help="add a header to every response (repeatable)")
    core.add_argument("--pidfile", metavar="PATH", help="write the process id here while running")
    core.add_argument("--workers", type=positive_int, default=1, metavar="N",
                      help="serve with N processes sharing the listening sockets, under a "
                      "supervisor that restarts them and reloads on SIGHUP (default 1)")
    core.add_argument("--display-tracebacks", action="store_true",
                      help="show tracebacks in 500 pages (development only)")
    core.add_argument("--no-sendfile", action="store_true",
                      help="send file bodies by reading chunks instead of with sendfile(2)")
    core.add_argument("--encode", action="append", default=[], metavar="CODING",
                      help="compress every response with this coding when the client accepts "
                      "it (e.g. gzip; repeatable)")
    core.add_argument("--http", choices=ENGINES, default=Config.http_engine,
                      help="HTTP/1.1 parser: h11, httptools (the fast one; from a checkout: "
                      "pip install \"./core[fast]\"), or auto, httptools when it is installed "
                      "(default %(default)s)")
    defaults = Config()
    limits = parser.add_argument_group("limits")
    for flag, field, kind, text in _LIMIT_FLAGS:
        limits.add_argument(flag, dest=field, type=kind, default=getattr(defaults, field),
                            help=f"{text}; default {getattr(defaults, field)}")
    for impl in reversed(pm.hook.plugserve_add_options.get_hookimpls()):
        group = parser.add_argument_group(f"plugin {impl.plugin_name}")
        call_impl(impl, group=group)  # pluggy's rules: the plugin may take no argument
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    """The frozen configuration of this run."""
    options = vars(args)
    return Config(
        listen=tuple(args.listen or ("tcp:8080",)),
        **{field: getattr(args, field) for _, field, _, _ in _LIMIT_FLAGS},
        display_tracebacks=args.display_tracebacks,
        sendfile=not args.no_sendfile,
        http_engine=args.http,
        logfile=args.logfile,
        access_log=not args.no_access_log,
        add_headers=tuple(args.add_header),
        encode=tuple(args.encode),
        pidfile=args.pidfile,
        workers=args.workers,
        config_file=args.config,
        plugins=tuple(args.plugin),
        no_plugins=tuple(args.no_plugin),
        options=MappingProxyType(dict(options)),
    )


def nothing_to_serve(records: Sequence[PluginRecord], pm: pluggy.PluginManager) -> str:
    """The message for a command line that names nothing to serve."""
    lines = ["plugserve: nothing to serve. Give one of:",
             f"  {'--config FILE.py':<36} a Python file defining `root` or `site`"]
    for name, known in KNOWN_PLUGINS.items():
        if known.serves:
            lines.append(f"  {known.serves:<36} plugin {name!r} "
                         f"({plugin_state(known, records)})")
    others = sorted(
        impl.plugin_name for impl in pm.hook.plugserve_make_root.get_hookimpls()
        if impl.plugin_name not in KNOWN_PLUGINS
    )
    if others:
        lines.append("  other installed plugins that can serve: " + ", ".join(others))
    lines.append("Run 'plugserve --help' for every option.")
    return "\n".join(lines)


def _fail(message: str) -> NoReturn:
    print(f"plugserve: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def plugins_command(argv: Sequence[str]) -> int:
    """`plugserve plugins [--json]`: what was discovered and whether it loaded."""
    parser = argparse.ArgumentParser(prog="plugserve plugins",
                                     description="List the discovered plugins.")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--plugin", action="append", default=[])
    parser.add_argument("--no-plugin", action="append", default=[])
    args = parser.parse_args(argv)
    _cwd_importable()
    pm = make_plugin_manager()
    try:
        records = load_plugins(pm, requested=args.plugin, blocked=args.no_plugin)
    except UsageError as exc:
        _fail(str(exc))
    if args.json:
        print(json.dumps([r.as_dict() for r in records], indent=2))
        return 0
    if not records:
        print("no plugins installed (from a plugserve checkout: pip install ./plugins/static "
              "./plugins/wsgi ...)")
    for r in records:
        dist = f"{r.distribution} {r.version}".strip() or "-"
        print(f"{r.name:<12} {dist:<28} {r.module:<32} {r.status}")
        if r.hooks:
            print(f"{'':<12} hooks: {', '.join(r.hooks)}")
        if r.error:
            print(f"{'':<12} error: {r.error}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `plugserve` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["plugins"]:
        return plugins_command(argv[1:])
    configure_error_log()
    _cwd_importable()
    known = _pre_parse(argv)
    pm = make_plugin_manager()
    try:
        records = load_plugins(pm, requested=known.plugin, blocked=known.no_plugin)
    except UsageError as exc:
        _fail(str(exc))
    for record in records:
        if record.status == "failed":
            print(f"plugserve: plugin {record.name!r} failed to load: {record.error}",
                  file=sys.stderr)
    parser = build_parser(pm)
    _check_plugin_options(parser, argv, records)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)  # --http httptools without httptools fails here
    except UsageError as exc:
        _fail(str(exc))
    hooks = Hooks(pm, selected=config.plugins)
    try:
        site_or_root: Served | None = None
        endpoints: tuple[str, ...] | None = None
        if config.config_file:
            site_or_root, endpoints = load_config_file(config.config_file)
            if endpoints and not args.listen:
                config = _replace_listen(config, endpoints)
        if config.access_log:
            log_path = config.logfile or getattr(site_or_root, "logPath", None)
            pm.register(AccessLogPlugin(log_path), name="access-log")
            hooks = Hooks(pm, selected=config.plugins)
        hooks.configure(config)
        if not args.listen and not endpoints and (default := hooks.default_listen(config)):
            config = _replace_listen(config, default)
        site_or_root, mounts, config = build_root(site_or_root, config, hooks)
        if site_or_root is None:
            print(nothing_to_serve(records, pm), file=sys.stderr)
            return 2
        _check_encoders(config, hooks)
    except UsageError as exc:
        _fail(str(exc))
    if current_context() is None:  # a worker's lines would repeat the supervisor's
        for line in mount_lines(site_or_root, mounts):
            print(f"plugserve: {line}", flush=True)
    return _serve(site_or_root, config, hooks, argv)


def _check_plugin_options(
    parser: argparse.ArgumentParser, argv: Sequence[str], records: Sequence[PluginRecord]
) -> None:
    """Exit 2 naming the distribution to install when an option belongs to a first-party
    plugin that is not installed or not loaded (rather than "unrecognized arguments")."""
    _, unknown = parser.parse_known_args(argv)
    message = missing_option(unknown, records)
    if message is not None:
        _fail(message)


def _cwd_importable() -> None:
    """`--plugin mymod` and `--wsgi app:app` find modules in the current directory."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def _replace_listen(config: Config, endpoints: tuple[str, ...]) -> Config:
    import dataclasses

    return dataclasses.replace(config, listen=endpoints)


def _check_encoders(config: Config, hooks: Hooks) -> None:
    known = hooks.encoders(config)
    for name in config.encode:
        if name not in known:
            raise UsageError(f"--encode {name}: no plugin provides it (available: "
                             f"{', '.join(sorted(known)) or 'none'})")


def _serve(
    site_or_root: Served, config: Config, hooks: Hooks, argv: Sequence[str] = ()
) -> int:
    if config.workers > 1:  # each worker runs this command again, on the supervisor's sockets
        return serve_workers(site_or_root, config, hooks, lambda: main(argv))
    async def run() -> None:
        server = await serve(site_or_root, config=config, hooks=hooks)
        print(f"plugserve: HTTP engine: {engine_name(config.http_engine)}", flush=True)
        await serve_until_signal(server)

    if config.pidfile:
        with open(config.pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
    try:
        asyncio.run(run())
    except UsageError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot listen: {exc}")
    except KeyboardInterrupt:
        pass
    finally:
        if config.pidfile:
            with contextlib.suppress(OSError):
                os.unlink(config.pidfile)
    return 0

