"""Listening endpoints written as strings, in Twisted's strports syntax.

    tcp:8080                     tcp:0:interface=127.0.0.1:backlog=128
    tcp6:8080:interface=\\:\\:1    unix:/run/plugserve.sock:mode=0660
    ssl:8443:privateKey=key.pem:certKey=cert.pem

`tcp:0` binds an ephemeral port; the server reports the address it really got.  A colon inside a
value is written `\\:`.  `port=`, `address=` and `interface=` may also be given by name.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import stat
from collections.abc import Callable
from dataclasses import dataclass

from .error import UsageError

__all__ = ["Endpoint", "listen", "parse_endpoint"]

_KINDS = ("tcp", "tcp6", "unix", "ssl")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A parsed endpoint string."""

    kind: str
    port: int = 0
    interface: str | None = None
    backlog: int = 1024
    path: str | None = None
    mode: int | None = None
    private_key: str | None = None
    cert_key: str | None = None

    @property
    def is_tls(self) -> bool:
        """True for ssl: endpoints."""
        return self.kind == "ssl"


def _split(text: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_endpoint(description: str) -> Endpoint:
    """Parse an endpoint string; a bad one raises UsageError naming the problem and the form."""
    parts = _split(description)
    kind = parts[0].lower()
    if kind not in _KINDS or len(parts) < 2:
        raise UsageError(
            f"bad endpoint {description!r}: expected tcp:PORT, tcp6:PORT, unix:PATH or "
            "ssl:PORT:privateKey=KEY.pem:certKey=CERT.pem"
        )
    positional = [p for p in parts[1:] if "=" not in p]
    if len(positional) > 1:
        # Never drop a part silently: `tcp6:0:interface=::1` would bind every interface.
        raise UsageError(
            f"bad endpoint {description!r}: unexpected {':'.join(positional[1:])!r}; options "
            "are name=value, and a colon inside a value is written \\: "
            "(tcp6:8080:interface=\\:\\:1)"
        )
    named = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    if kind == "unix":
        path = named.pop("address", positional[0] if positional else None)
        if not path:
            raise UsageError(f"bad endpoint {description!r}: unix: needs a path")
        mode = _number(description, "mode", named.pop("mode"), octal=True) if "mode" in named \
            else None
        backlog = _number(description, "backlog", named.pop("backlog", "1024"))
        named.pop("lockfile", None)
        _no_extra(description, named)
        return Endpoint("unix", path=os.path.expanduser(path), mode=mode, backlog=backlog)
    port_text = named.pop("port", positional[0] if positional else None)
    if port_text is None:
        raise UsageError(f"bad endpoint {description!r}: {kind}: needs a port")
    endpoint = Endpoint(
        kind,
        port=_number(description, "port", port_text, high=65535),
        interface=named.pop("interface", None),
        backlog=_number(description, "backlog", named.pop("backlog", "1024")),
        # Only ssl: takes a key; on tcp: it would be ignored and the port served in clear.
        private_key=named.pop("privateKey", None) if kind == "ssl" else None,
        cert_key=named.pop("certKey", None) if kind == "ssl" else None,
    )
    _no_extra(description, named)
    if kind == "ssl" and not endpoint.private_key:
        raise UsageError(f"bad endpoint {description!r}: ssl: needs privateKey=KEY.pem")
    return endpoint


def _number(
    description: str, name: str, text: str, *, high: int | None = None, octal: bool = False
) -> int:
    """`text` as a non-negative integer (plain digits only), else a UsageError naming `name`."""
    digits = "01234567" if octal else "0123456789"
    if text and all(c in digits for c in text):
        value = int(text, 8 if octal else 10)
        if high is None or value <= high:
            return value
    expected = ("an octal number such as 0660" if octal
                else f"a number from 0 to {high}" if high is not None else "a whole number")
    raise UsageError(f"bad endpoint {description!r}: {name} must be {expected}, not {text!r}")


def _no_extra(description: str, named: dict[str, str]) -> None:
    if named:
        raise UsageError(f"bad endpoint {description!r}: unknown option(s) {', '.join(named)}")


def _ssl_context(endpoint: Endpoint) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert endpoint.private_key is not None
    try:
        context.load_cert_chain(endpoint.cert_key or endpoint.private_key, endpoint.private_key)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot load the TLS key/certificate: {exc}") from None
    context.set_alpn_protocols(["http/1.1"])
    return context


async def listen(
    endpoint: Endpoint, factory: Callable[[], asyncio.Protocol]
) -> tuple[asyncio.Server, list[str]]:
    """Start listening; return the server and the URLs it really listens on."""
    loop = asyncio.get_running_loop()
    if endpoint.kind == "unix":
        assert endpoint.path is not None
        if os.path.exists(endpoint.path) and stat.S_ISSOCK(os.stat(endpoint.path).st_mode):
            os.unlink(endpoint.path)
        server = await loop.create_unix_server(factory, endpoint.path, backlog=endpoint.backlog)
        if endpoint.mode is not None:
            os.chmod(endpoint.path, endpoint.mode)
        return server, [f"http+unix://{endpoint.path}"]
    family = socket.AF_INET6 if endpoint.kind == "tcp6" else socket.AF_INET
    host = endpoint.interface or ("::" if family == socket.AF_INET6 else "0.0.0.0")
    context = _ssl_context(endpoint) if endpoint.is_tls else None
    server = await loop.create_server(
        factory, host, endpoint.port, family=family, backlog=endpoint.backlog, ssl=context,
        reuse_address=True,
    )
    scheme = "https" if context else "http"
    urls = []
    for sock in server.sockets:
        address = sock.getsockname()
        shown = f"[{address[0]}]" if sock.family == socket.AF_INET6 else address[0]
        urls.append(f"{scheme}://{shown}:{address[1]}")
    return server, urls
