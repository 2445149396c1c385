"""What `start_response(status, headers)` was given, checked and turned into bytes.

A wrong status or header raises into the application (TypeError or ValueError), where the
mistake is, instead of producing a broken response later.  PEP 3333 leaves framing and the
connection to the server, so hop-by-hop headers from the application (RFC 9110 §7.6.1) are
dropped, except `Connection: close`, which is honoured.  Values are stripped of surrounding
whitespace (RFC 9110 §5.5); the application's `Date` and `Server`, unlike Twisted, are kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["Head", "parse_head"]

# PEP 3333: "999 Message here"; RFC 9112 §4: reason-phrase = *( HTAB / SP / VCHAR / obs-text ).
_STATUS_RE: Final = re.compile(r"([0-9]{3}) ([\t\x20-\x7e\x80-\xff]*)")
_TOKEN_RE: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE_RE: Final = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_DIGITS_RE: Final = re.compile(r"[0-9]{1,20}")
_HOP_BY_HOP: Final = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
})
_NO_BODY: Final = frozenset({204, 304})


@dataclass(frozen=True, slots=True)
class Head:
    """A checked status line and header list; `length` is the declared Content-Length."""

    code: int
    reason: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    length: int | None

    @property
    def may_have_body(self) -> bool:
        """False for 204 and 304, whose responses never have a body (RFC 9110 §6.4.1)."""
        return self.code not in _NO_BODY

    def with_length(self, length: int) -> Head:
        """This head with a Content-Length the server computed (the app gave none)."""
        headers = (*self.headers, (b"content-length", str(length).encode("ascii")))
        return Head(self.code, self.reason, headers, length)


def parse_head(status: Any, headers: Any) -> Head:
    """Check start_response's arguments; raise TypeError or ValueError naming the problem."""
    if not isinstance(status, str):
        raise TypeError(f"status must be a str such as '200 OK', not {type(status).__name__}")
    match = _STATUS_RE.fullmatch(status)
    if match is None:
        raise ValueError(f"status {status!r} is not '<3 digits> <reason>', e.g. '200 OK'")
    code = int(match.group(1))
    if code < 200:
        raise ValueError(f"status {status!r}: a WSGI response cannot be informational (1xx)")
    if not isinstance(headers, list | tuple):
        raise TypeError(f"response headers must be a list, not {type(headers).__name__}")
    checked: list[tuple[bytes, bytes]] = []
    length: int | None = None
    for item in headers:
        name, value = _header(item)
        lower = name.lower()
        if lower == "content-length":
            if _DIGITS_RE.fullmatch(value) is None or (length is not None and int(value) != length):
                raise ValueError(f"bad Content-Length header {value!r}")
            if length is not None:
                continue
            length = int(value)
        elif lower in _HOP_BY_HOP:
            if lower == "connection" and "close" in value.lower():
                checked.append((b"connection", b"close"))
            continue
        checked.append((lower.encode("ascii"), value.encode("latin-1")))
    return Head(code, match.group(2).encode("latin-1"), tuple(checked), length)


def _header(item: Any) -> tuple[str, str]:
    if not isinstance(item, Sequence) or isinstance(item, str | bytes) or len(item) != 2:
        raise TypeError(f"each response header must be a (name, value) tuple, not {item!r}")
    name, value = item
    if not isinstance(name, str) or not isinstance(value, str):
        raise TypeError(f"header name and value must be str: {item!r}")
    if _TOKEN_RE.fullmatch(name) is None:
        raise ValueError(f"header name {name!r} is not a token (RFC 9110 §5.1)")
    if name.lower() == "status":
        raise ValueError("a 'Status' header is not allowed; the status is start_response's "
                         "first argument")
    value = value.strip(" \t")
    if _VALUE_RE.fullmatch(value) is None:
        raise ValueError(f"header {name}: value {value!r} has control or non-latin-1 characters")
    return name, value
