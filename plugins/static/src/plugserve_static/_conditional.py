"""Conditional requests, RFC 9110 §13: which precondition decides, and what it answers.

The order is §13.2.2's: If-Match, else If-Unmodified-Since (412 when false); If-None-Match
(304 for GET/HEAD, 412 otherwise), else If-Modified-Since for GET/HEAD (304).  If-Range
(§13.1.5) decides separately whether a Range header is honoured.  Entity tags are compared
strongly for If-Match and If-Range and weakly for If-None-Match (§8.8.3.2).
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Final

__all__ = ["PRECONDITIONS", "evaluate", "if_range_holds", "make_etag"]

_SAFE: Final = frozenset({b"GET", b"HEAD"})
#: The request headers `evaluate` reads: without any of them there is nothing to evaluate.
PRECONDITIONS: Final = frozenset(
    {b"if-match", b"if-unmodified-since", b"if-none-match", b"if-modified-since"}
)


def make_etag(mtime_ns: int, size: int) -> bytes:
    """A strong validator that changes whenever the file is rewritten or resized."""
    return b'"%x-%x"' % (mtime_ns, size)


def _tags(header: bytes) -> list[bytes]:
    return [t.strip() for t in header.split(b",") if t.strip()]


def _opaque(tag: bytes) -> bytes:
    return tag[2:] if tag.startswith(b"W/") else tag


def _date(header: bytes) -> float | None:
    try:
        return parsedate_to_datetime(header.decode("latin-1")).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def evaluate(
    method: bytes, headers: dict[bytes, bytes], etag: bytes, mtime_s: int
) -> int | None:
    """The status a failed precondition answers (304 or 412), or None to go on."""
    if_match = headers.get(b"if-match")
    if if_match is not None:
        tags = _tags(if_match)
        if b"*" not in tags and etag not in [t for t in tags if not t.startswith(b"W/")]:
            return 412
    else:
        since = headers.get(b"if-unmodified-since")
        when = _date(since) if since is not None else None
        if when is not None and mtime_s > when:
            return 412
    if_none = headers.get(b"if-none-match")
    if if_none is not None:
        tags = _tags(if_none)
        if b"*" in tags or _opaque(etag) in [_opaque(t) for t in tags]:
            return 304 if method in _SAFE else 412
    elif method in _SAFE:
        since = headers.get(b"if-modified-since")
        when = _date(since) if since is not None else None
        if when is not None and mtime_s <= when:
            return 304
    return None


def if_range_holds(headers: dict[bytes, bytes], etag: bytes, mtime_s: int) -> bool:
    """True when a Range may be honoured: no If-Range, or one that still matches (§13.1.5)."""
    value = headers.get(b"if-range")
    if value is None:
        return True
    value = value.strip()
    if value.startswith((b'"', b"W/")):
        return value == etag  # strong comparison; a weak tag never matches
    when = _date(value)
    return when is not None and int(when) == mtime_s
