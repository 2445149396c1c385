"""Which headers cross the proxy, and the ones it adds: hop-by-hop headers are removed in both
directions (RFC 9110 §7.6.1, the core's `end_to_end`), framing is never passed through (the
proxy frames each message itself), `Via` is added both ways and detects loops, and the
reverse proxy adds `X-Forwarded-For/-Host/-Proto` and `Forwarded` (RFC 7239)."""

from __future__ import annotations

import functools
import hashlib
import socket
from typing import Any

from plugserve.http_headers import end_to_end

__all__ = ["end_to_end", "forwarded_headers", "is_loop", "via"]

@functools.lru_cache(maxsize=64)
def _pseudonym(port: int) -> bytes:
    """This server's name in Via: stable for a host and port, without revealing the host."""
    digest = hashlib.sha256(f"{socket.gethostname()}:{port}".encode()).hexdigest()[:10]
    return f"plugserve-{digest}".encode()


def via(request: Any, version: bytes) -> bytes:
    """Our Via entry for a message of HTTP `version` (b"1.1") received on `request`'s port."""
    return version.removeprefix(b"HTTP/") + b" " + _pseudonym(getattr(request.host, "port", 0))


def is_loop(request: Any) -> bool:
    """The request passed through this very proxy already (508)."""
    ours = _pseudonym(getattr(request.host, "port", 0))
    for value in request.requestHeaders.getRawHeaders(b"via") or ():
        for entry in value.split(b","):
            parts = entry.split()
            if len(parts) >= 2 and parts[1] == ours:
                return True
    return False


def forwarded_headers(request: Any) -> list[tuple[bytes, bytes]]:
    """X-Forwarded-For (appended to), -Host, -Proto and Forwarded for the reverse proxy."""
    client = getattr(request.client, "host", None) or "unknown"
    headers = request.requestHeaders
    proto = b"https" if request.isSecure() else b"http"
    host = headers.getRawHeaders(b"host", [b""])[-1]
    previous = headers.getRawHeaders(b"x-forwarded-for")
    xff = b", ".join([*previous, client.encode()]) if previous else client.encode()
    node = f'"[{client}]"' if ":" in client else client
    entry = f"for={node};proto={proto.decode()}".encode()
    if host:
        entry += b';host="' + host.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    earlier = headers.getRawHeaders(b"forwarded")
    result = [(b"x-forwarded-for", xff), (b"x-forwarded-proto", proto),
              (b"forwarded", b", ".join([*earlier, entry]) if earlier else entry)]
    if host:
        result.append((b"x-forwarded-host", host))
    return result
