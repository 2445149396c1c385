"""Conditional requests, RFC 9110 §13, implemented once for the core and every plugin.

`evaluate` applies §13.2.2's order: If-Match, else If-Unmodified-Since (412 when false);
If-None-Match (304 for GET/HEAD, 412 otherwise), else If-Modified-Since for GET/HEAD (304).
`if_range_holds` decides separately whether a Range is honoured (§13.1.5).  Entity tags compare
strongly for If-Match and If-Range and weakly for If-None-Match (§8.8.3.2).  The building blocks
`none_match` and `not_modified_since` are what `Request.setETag` and `setLastModified` use.
Public as `plugserve.http.evaluate_preconditions` and `plugserve.http.if_range_holds`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ._date import parse_http_date

__all__ = ["PRECONDITIONS", "evaluate", "if_range_holds", "none_match", "not_modified_since"]

_SAFE: Final = frozenset({b"GET", b"HEAD"})
#: The request headers `evaluate` reads: without any of them there is nothing to evaluate.
PRECONDITIONS: Final = frozenset(
    {b"if-match", b"if-unmodified-since", b"if-none-match", b"if-modified-since"}
)


def _tags(header: bytes) -> list[bytes]:
    # A list of entity tags: comma-separated, but (as Twisted reads it) spaces separate too;
    # an entity tag holds no whitespace (§8.8.3).
    return header.replace(b",", b" ").split()


def _opaque(tag: bytes) -> bytes:
    return tag[2:] if tag.startswith(b"W/") else tag


def _date(header: bytes) -> float | None:
    # A date with parameters (old browsers send `; length=N`) still counts.
    return parse_http_date(header.split(b";", 1)[0].strip())


def none_match(header: bytes, etag: bytes) -> bool:
    """True when an If-None-Match value matches `etag` (weak comparison, or `*`)."""
    tags = _tags(header)
    return b"*" in tags or _opaque(etag) in [_opaque(t) for t in tags]


def not_modified_since(header: bytes, last_modified: float) -> bool:
    """True when an If-Modified-Since value is a date no earlier than `last_modified`; a date
    that does not parse counts as absent (§13.1.3)."""
    when = _date(header)
    return when is not None and last_modified <= when


def evaluate(
    method: bytes, headers: Mapping[bytes, bytes], etag: bytes | None, last_modified: float | None
) -> int | None:
    """The status a failed precondition answers (304 or 412), or None to go on.

    `headers` maps lower-case names to their (last) values, as `Request.getAllHeaders()` does;
    `etag` is the quoted entity tag and `last_modified` the POSIX time of the representation,
    either None when the resource has none."""
    if_match = headers.get(b"if-match")
    if if_match is not None:
        tags = _tags(if_match)
        if b"*" not in tags and (etag is None or etag not in [t for t in tags
                                                               if not t.startswith(b"W/")]):
            return 412
    elif last_modified is not None:
        since = headers.get(b"if-unmodified-since")
        when = _date(since) if since is not None else None
        if when is not None and last_modified > when:
            return 412
    if_none = headers.get(b"if-none-match")
    if if_none is not None:
        if (etag is not None and none_match(if_none, etag)) or b"*" in _tags(if_none):
            return 304 if method in _SAFE else 412
    elif method in _SAFE and last_modified is not None:
        since = headers.get(b"if-modified-since")
        if since is not None and not_modified_since(since, last_modified):
            return 304
    return None


def if_range_holds(
    headers: Mapping[bytes, bytes], etag: bytes | None, last_modified: float | None
) -> bool:
    """True when a Range may be honoured: no If-Range, or one that still matches (§13.1.5)."""
    value = headers.get(b"if-range")
    if value is None:
        return True
    value = value.strip()
    if value.startswith((b'"', b"W/")):
        # Strong comparison (§8.8.3.2): a weak tag on either side never matches.
        return etag is not None and not value.startswith(b"W/") and value == etag
    when = _date(value)
    return when is not None and last_modified is not None and int(when) == int(last_modified)
