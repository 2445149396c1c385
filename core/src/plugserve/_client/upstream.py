"""Where `plugserve.client` connects: a TCP host and port, or a UNIX socket, and the path prefix
an upstream URL carries.  `Upstream.parse` reads the two spellings of the command line:
`http://host:port/path` and `unix:/path/to.sock:/path`."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Upstream", "format_authority"]


def format_authority(host: str, port: int, default_port: int = 80) -> str:
    """`host`, `host:port`, or `[v6]:port`, as a Host header carries it."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host if port == default_port else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class Upstream:
    """An upstream server: `host`/`port` over TCP, or `socket_path` (a UNIX socket, then `host`
    is only the Host header's value).  `path` is the prefix the URL gave ("" for none)."""

    host: str
    port: int = 80
    socket_path: str | None = None
    path: str = ""

    @property
    def key(self) -> tuple[str, int, str | None]:
        """What the pool keeps connections under."""
        return (self.host, self.port, self.socket_path)

    @property
    def authority(self) -> str:
        """The Host header for this upstream (`localhost` for a UNIX socket)."""
        return format_authority(self.host, self.port)

    def __str__(self) -> str:
        if self.socket_path is not None:
            return f"unix:{self.socket_path}"
        return format_authority(self.host, self.port, default_port=-1)

    @classmethod
    def parse(cls, text: str) -> Upstream:
        """`http://host[:port][/path]` or `unix:/path/to.sock[:/path]`; ValueError names what
        is wrong."""
        if text.startswith("unix:"):
            socket_path, sep, path = text[5:].partition(":")
            if not socket_path.startswith("/"):
                raise ValueError(f"{text}: give unix:/absolute/path/to.sock[:/path]")
            if sep and not path.startswith("/"):
                raise ValueError(f"{text}: the path after the socket starts with /")
            return cls("localhost", 80, socket_path, path.rstrip("/") if sep else "")
        parts = urlsplit(text)
        if parts.scheme != "http":
            raise ValueError(f"{text}: an upstream URL is http://host:port/path or "
                             f"unix:/path/to.sock:/path (https upstreams are not supported)")
        if parts.username is not None or parts.query or parts.fragment:
            raise ValueError(f"{text}: no user, query or fragment in an upstream URL")
        try:
            port = parts.port or 80
        except ValueError:
            raise ValueError(f"{text}: the port is not a number from 1 to 65535") from None
        host = parts.hostname or ""
        if not host or port == 0:
            raise ValueError(f"{text}: give a host (and a port from 1 to 65535)")
        if parts.netloc.startswith("["):
            try:
                ipaddress.IPv6Address(host)
            except ValueError:
                raise ValueError(f"{text}: {host} is not an IPv6 address") from None
        return cls(host, port, None, parts.path.rstrip("/"))
