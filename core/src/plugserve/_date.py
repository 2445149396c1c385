"""HTTP dates (RFC 9110 §5.6.7): formatting, a per-second cache for the Date header, parsing."""

from __future__ import annotations

import calendar
import time
from email.utils import formatdate, parsedate_tz
from typing import Final

__all__ = [
    "clf_now",
    "datetimeToString",
    "format_http_date",
    "http_date_now",
    "parse_http_date",
    "stringToDatetime",
]

_cache_second = -1
_cache_value = b""
_clf_second = -1
_clf_value = ""
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_http_date(when: float) -> bytes:
    """IMF-fixdate of a POSIX time: `Sun, 06 Nov 1994 08:49:37 GMT`."""
    return formatdate(when, usegmt=True).encode("ascii")


def http_date_now() -> bytes:
    """The Date header for now, formatted once per second."""
    global _cache_second, _cache_value
    now = int(time.time())
    if now != _cache_second:
        _cache_value = format_http_date(now)
        _cache_second = now
    return _cache_value


def clf_now() -> str:
    """The Common Log Format timestamp for now, `23/Nov/2026:22:24:08 +0000`, once per second."""
    global _clf_second, _clf_value
    now = int(time.time())
    if now != _clf_second:
        t = time.gmtime(now)
        _clf_value = (
            f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year:04d}:"
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
        )
        _clf_second = now
    return _clf_value


def parse_http_date(value: bytes) -> float | None:
    """POSIX time of an IMF-fixdate, RFC 850 or asctime date; None when it does not parse
    or names a year before 1970 (RFC 9110 §5.6.7 says such a date is ignored)."""
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return None
    parsed = parsedate_tz(text)
    if parsed is None or parsed[0] < 1970:
        return None
    try:
        return float(calendar.timegm(parsed[:9])) - (parsed[9] or 0)
    except (ValueError, OverflowError):
        return None


def datetimeToString(msSinceEpoch: float | None = None) -> bytes:
    """Twisted's `http.datetimeToString`: the IMF-fixdate of a POSIX time (now when None)."""
    return format_http_date(time.time() if msSinceEpoch is None else msSinceEpoch)


def stringToDatetime(dateString: bytes) -> int:
    """Twisted's `http.stringToDatetime`: the POSIX time of an HTTP date, in whole seconds.

    Accepts the three forms of RFC 9110 §5.6.7; raises ValueError for anything else."""
    when = parse_http_date(dateString)
    if when is None:
        raise ValueError(f"not an HTTP date: {dateString!r}")
    return int(when)
