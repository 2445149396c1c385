"""Twisted Web's `Headers`: a case-insensitive multi-map of raw header values.

Names and values are bytes; a str name or value is encoded (UTF-8 for values) and a str name
asks for str values back, as in Twisted.  Names go on the wire in canonical Title-Case with
Twisted's exceptions (`ETag`, `WWW-Authenticate`, ...).

`end_to_end` is what every relay (the proxy, the per-user relay) passes on: a message's
headers without the hop-by-hop ones (RFC 9110 §7.6.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import AnyStr, Final, TypeVar, overload

__all__ = ["HOP_BY_HOP", "Headers", "canonical_name", "end_to_end"]

_T = TypeVar("_T")

#: The headers of one hop (lower-case), which a relay never passes on: RFC 9110's, and framing
#: and the 100-continue handshake, which a relay does itself on each side.
HOP_BY_HOP: Final = frozenset({
    b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding",
    b"upgrade", b"proxy-authorization", b"proxy-authenticate", b"content-length", b"expect",
})

_SPECIAL: Final = {
    b"content-md5": b"Content-MD5",
    b"dnt": b"DNT",
    b"etag": b"ETag",
    b"p3p": b"P3P",
    b"te": b"TE",
    b"www-authenticate": b"WWW-Authenticate",
    b"x-xss-protection": b"X-XSS-Protection",
}


@lru_cache(maxsize=512)
def canonical_name(name: bytes) -> bytes:
    """The wire spelling of a lower-case header name: `content-type` -> `Content-Type`."""
    special = _SPECIAL.get(name)
    if special is not None:
        return special
    return b"-".join(part.capitalize() for part in name.split(b"-"))


#: Header names as given -> lower-case bytes: nearly always the same few constants, looked up
#: on every setHeader/getHeader (bounded: a name is not a value).
_NAMES: dict[str | bytes, bytes] = {}
_NAMES_MAX: Final = 256


def _name(name: str | bytes) -> bytes:
    key = _NAMES.get(name)
    if key is None:
        key = name.lower().encode("ascii") if isinstance(name, str) else name.lower()
        if len(_NAMES) < _NAMES_MAX:
            _NAMES[name] = key
    return key


#: CR, LF and NUL as ints: `13 in value` is a plain byte search, while `b"\r" in value` first
#: tries the needle as an int and builds and drops a TypeError (about 10x slower, and this
#: runs for every header value set).
_CR, _LF, _NUL = b"\r\n\x00"


def _sanitize(value: str | bytes) -> bytes:
    """Encode a value and turn CR, LF and NUL into spaces (header injection guard)."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if _CR in value or _LF in value or _NUL in value:
        value = value.replace(b"\r\n", b" ").replace(b"\r", b" ").replace(b"\n", b" ")
        value = value.replace(b"\x00", b" ")
    return value


class Headers:
    """Header names mapped to lists of raw values, compared case-insensitively."""

    __slots__ = ("_raw",)

    def __init__(self, rawHeaders: dict[AnyStr, Sequence[AnyStr]] | None = None) -> None:
        self._raw: dict[bytes, list[bytes]] = {}
        if rawHeaders:
            for name, values in rawHeaders.items():
                self.setRawHeaders(name, values)

    @classmethod
    def _wrap(cls, raw: dict[bytes, list[bytes]]) -> Headers:
        """Adopt a lower-case name -> values dict as the parser built it (no copy)."""
        headers = cls.__new__(cls)
        headers._raw = raw
        return headers

    def __repr__(self) -> str:
        return f"Headers({self._raw!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and other._raw == self._raw

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> Headers:
        """An independent copy."""
        new = Headers()
        new._raw = {name: list(values) for name, values in self._raw.items()}
        return new

    def hasHeader(self, name: str | bytes) -> bool:
        """True if at least one value is set for `name`."""
        return _name(name) in self._raw

    def removeHeader(self, name: str | bytes) -> None:
        """Drop every value of `name`; no error when there is none."""
        self._raw.pop(_name(name), None)

    def setRawHeaders(self, name: str | bytes, values: Sequence[str | bytes]) -> None:
        """Replace every value of `name`."""
        self._raw[_name(name)] = [_sanitize(v) for v in values]

    def addRawHeader(self, name: str | bytes, value: str | bytes) -> None:
        """Append one value to `name`."""
        self._raw.setdefault(_name(name), []).append(_sanitize(value))

    @overload
    def getRawHeaders(self, name: bytes) -> list[bytes] | None: ...
    @overload
    def getRawHeaders(self, name: str) -> list[str] | None: ...
    @overload
    def getRawHeaders(self, name: bytes, default: _T) -> list[bytes] | _T: ...
    @overload
    def getRawHeaders(self, name: str, default: _T) -> list[str] | _T: ...

    def getRawHeaders(self, name: str | bytes, default: object = None) -> object:
        """Every value of `name` (str values for a str name), or `default`."""
        values = self._raw.get(_name(name))
        if values is None:
            return default
        if isinstance(name, str):
            return [v.decode("utf-8", "replace") for v in values]
        return list(values)

    def getAllRawHeaders(self) -> Iterator[tuple[bytes, list[bytes]]]:
        """(canonical name, values) for every header."""
        for name, values in self._raw.items():
            yield canonical_name(name), list(values)

    def _last(self, name: bytes) -> bytes | None:
        values = self._raw.get(name)
        return values[-1] if values else None


def end_to_end(headers: Iterable[tuple[bytes, bytes]], *,
               websocket: bool = False) -> list[tuple[bytes, bytes]]:
    """`headers` (lower-case names) without the HOP_BY_HOP ones and those `Connection` lists;
    with `websocket`, `Upgrade: websocket` and `Connection: upgrade` are kept."""
    headers = list(headers)
    listed = {token.strip(b" \t").lower() for name, value in headers if name == b"connection"
              for token in value.split(b",")}
    kept = [(n, v) for n, v in headers if n not in HOP_BY_HOP and n not in listed]
    if websocket:
        kept += [(b"connection", b"upgrade"), (b"upgrade", b"websocket")]
    return kept
