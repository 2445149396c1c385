"""Addresses of the two ends of a connection, shaped like Twisted's address objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Address", "IPv4Address", "IPv6Address", "UNIXAddress", "from_sockname"]


@dataclass(frozen=True, slots=True)
class IPv4Address:
    """An IPv4 endpoint; `type` is "TCP" as in Twisted."""

    type: str
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class IPv6Address:
    """An IPv6 endpoint."""

    type: str
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class UNIXAddress:
    """A UNIX-socket endpoint (`name` is the path, None for an unnamed peer)."""

    name: str | None


Address = IPv4Address | IPv6Address | UNIXAddress


def from_sockname(value: Any) -> Address:
    """Turn what `socket.getsockname()`/`getpeername()` returned into an address object."""
    if isinstance(value, tuple):
        host, port = value[0], value[1]
        if ":" in host:
            return IPv6Address("TCP", host, port)
        return IPv4Address("TCP", host, port)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return UNIXAddress(value or None)
