"""The configuration of one server run: a frozen dataclass built once from the command line.

Units are in the names (`_bytes`, `_s`).  Plugins read their own options from `options`, the
parsed command line as a read-only mapping (`config.options["path"]`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._protocol.common import Limits
from ._protocol.engines import engine_name

if TYPE_CHECKING:
    from .resource import IResource

__all__ = ["Config"]


@dataclass(frozen=True)
class Config:
    """Every setting of a server run, each with its default."""

    listen: tuple[str, ...] = ("tcp:8080",)
    max_request_line_bytes: int = 8192
    max_header_bytes: int = 16384
    max_header_count: int = 100
    max_body_bytes: int = 100 * 1024 * 1024
    max_chunk_line_bytes: int = 1024
    max_empty_lines: int = 8
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    #: Apache's `RequestReadTimeout body=…,MinRate=500`: 500 B/s is 4 kbit/s, a tenth of a
    #: GPRS link, so no real upload is cut off; a body trickled slower gets 408.
    min_body_rate_bytes_s: float = 500.0
    min_body_rate_grace_s: float = 10.0
    #: nginx's send_timeout is 60 s too: a client that reads nothing for that long is closed.
    send_timeout_s: float = 60.0
    #: nginx's lingering_close: after an answer that ends a connection the client was still
    #: sending on, read and drop up to this much for up to this long before closing.
    linger_timeout_s: float = 5.0
    max_linger_bytes: int = 1024 * 1024
    #: A body streamed to its resource (`stream_request_body`) buffers at most this much
    #: unread, plus one read from the socket, before the server stops reading from the client.
    stream_window_bytes: int = 64 * 1024
    keepalive_timeout_s: float = 15.0
    #: A connection taken over (a CONNECT tunnel, a WebSocket) is closed after this long with
    #: no byte in either direction.  5 minutes: well above the 20-60 s pings of WebSocket
    #: clients, and as long as browsers keep an idle connection for reuse (Chrome: 5 min), so
    #: a pooled TLS connection through a tunnel is not cut while the browser may still use
    #: it; below nginx's 10 min proxy_timeout for raw streams, as a tunnel holds two sockets.
    tunnel_idle_timeout_s: float = 300.0
    max_connections: int = 1024
    shutdown_timeout_s: float = 10.0
    session_timeout_s: float = 900.0
    display_tracebacks: bool = False
    #: Send file bodies with `loop.sendfile` where possible (`--no-sendfile` turns it off).
    sendfile: bool = True
    #: The HTTP/1.1 parser (`--http`): "h11", "httptools" (the `plugserve[fast]` extra), or
    #: "auto", httptools when it is installed.
    http_engine: str = "auto"
    logfile: str | None = None
    access_log: bool = True
    add_headers: tuple[tuple[bytes, bytes], ...] = ()
    encode: tuple[str, ...] = ()
    pidfile: str | None = None
    #: Processes serving the listening sockets (`--workers`); above 1, a supervisor
    #: process binds the sockets, forks the workers and restarts them (see _workers/start.py).
    workers: int = 1
    config_file: str | None = None
    plugins: tuple[str, ...] = ()
    no_plugins: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: Extension -> factory(path, registry) from every plugin's `plugserve_processors`,
    #: merged; filled in before `plugserve_make_root` is called.
    processors: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: Index file names from every plugin's `plugserve_index_names` ("index.php"), tried after
    #: the default ones; filled in with `processors`.
    index_names: tuple[str, ...] = ()
    #: The plugins' hook relay (pluggy's `pm.hook`, as pytest's `config.hook`), filled in with
    #: `processors`; None when no plugins are loaded.  Prefer the typed helpers below.
    hook: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # An unknown engine, or httptools when it is not installed, fails here (UsageError),
        # not at the first connection.
        engine_name(self.http_engine)

    @property
    def limits(self) -> Limits:
        """The protocol layer's share of the settings."""
        return Limits(
            max_request_line_bytes=self.max_request_line_bytes,
            max_header_bytes=self.max_header_bytes,
            max_header_count=self.max_header_count,
            max_body_bytes=self.max_body_bytes,
            max_chunk_line_bytes=self.max_chunk_line_bytes,
            max_empty_lines=self.max_empty_lines,
        )

    def option(self, name: str, default: Any = None) -> Any:
        """A parsed command-line option (a plugin's own or the core's), or `default`."""
        return self.options.get(name, default)

    def directory_resource(self, path: str, *, contained: bool = False) -> IResource | None:
        """The resource serving folder `path` as `--path` would (the plugins'
        `plugserve_directory_resource`), or None when no plugin serves folders.  `contained`:
        no symlink out of `path` is followed, whatever the run's options."""
        if self.hook is None:
            return None
        return self.hook.plugserve_directory_resource(  # type: ignore[no-any-return]
            path=path, config=self, contained=contained
        )
