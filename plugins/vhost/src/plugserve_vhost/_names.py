"""Host names as virtual hosts compare them: one canonical byte string per name.

`Host: Example.COM.:8080`, `example.com` and `"Example.com"` all become `b"example.com"`:
lower case, without the port and without one trailing dot; `[::1]:8080` becomes `b"::1"`; a
Unicode name becomes its IDNA `xn--` form, as browsers send it.  Twisted only lower-cases the
Host header and cuts it at the first colon, so str keys, upper-case keys and IPv6 literals
never match there (docs/differences-from-twisted.md)."""

from __future__ import annotations

import ipaddress
import re
from typing import Final

import idna

__all__ = ["host_key", "name_key"]

# A name as it may appear in a Host header: labels of letters, digits, "-" and "_" (some
# internal names have it) between single dots, with one optional trailing dot; an IPv4
# address is such a name too.
_LABEL: Final = rb"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_NAME: Final = re.compile(_LABEL + rb"(?:\." + _LABEL + rb")*\.?")
_CACHE_SIZE: Final = 1024
_cache: dict[bytes, bytes | None] = {}


def _ascii_name(name: bytes) -> bytes | None:
    """`name` (no port) lower-cased, IDNA-encoded if it is not ASCII, without one trailing
    dot; None if it cannot be a host name."""
    if name.startswith(b"[") and name.endswith(b"]"):
        try:
            return ipaddress.IPv6Address(name[1:-1].decode("ascii")).compressed.encode()
        except (ValueError, UnicodeDecodeError):
            return None
    if not name.isascii():
        try:
            name = idna.encode(name.decode("utf-8"), uts46=True)
        except (UnicodeError, idna.IDNAError):
            return None
    name = name.lower()
    if not _NAME.fullmatch(name):
        return None
    return name[:-1] if name.endswith(b".") else name


def host_key(value: bytes) -> bytes | None:
    """The canonical name of a Host header (or an absolute-form authority), or None if it
    is not a host name with an optional port (such a request matches no host)."""
    found = _cache.get(value, b"")
    if found != b"":
        return found
    host = value.strip()
    if host.startswith(b"["):
        bracket = host.find(b"]")
        name, rest = host[:bracket + 1], host[bracket + 1:]
        if bracket < 0 or (rest and not (rest[:1] == b":" and rest[1:].isdigit())):
            key = None
        else:
            key = _ascii_name(name)
    else:
        name, sep, port = host.rpartition(b":")
        if not sep:
            name = host
        key = _ascii_name(name) if (not sep or port.isdigit()) and name else None
    if len(_cache) >= _CACHE_SIZE:
        _cache.clear()  # random Host headers cannot grow it without bound
    _cache[value] = key
    return key


def name_key(name: str | bytes) -> bytes:
    """The canonical form of a name given by a program (`addHost`, `--vhost`): str or bytes,
    any case, an IPv6 address with or without brackets, a Unicode name; a port is ignored.
    ValueError names a value that is no host name."""
    raw = name.encode("utf-8") if isinstance(name, str) else bytes(name)
    stripped = raw.strip()
    if b":" in stripped and not stripped.startswith(b"[") and stripped.count(b":") > 1:
        stripped = b"[" + stripped + b"]"  # a bare IPv6 address
    key = host_key(stripped)
    if key is None:
        raise ValueError(f"{name!r} is not a host name (give a name such as example.com, "
                         "an IP address, or [::1])")
    return key
