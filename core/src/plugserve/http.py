"""`twisted.web.http`'s names: status codes, reason phrases, HTTP dates, conditional requests,
and the protocol factories.

- The status-code constants (`OK`, `NOT_FOUND`, ...), `RESPONSES` and `CACHED`, as in Twisted.
- `datetimeToString(seconds=None)` and `stringToDatetime(date)`: HTTP dates (RFC 9110 §5.6.7),
  the one implementation the core and the plugins use.
- `evaluate_preconditions(method, headers, etag, last_modified)` and `if_range_holds(...)`:
  RFC 9110 §13 conditional requests, as static files answer them; `Request.setETag` and
  `Request.setLastModified` are built on the same code.
- `combinedLogFormatter` and `proxiedLogFormatter`: access-log formats for
  `Site(logFormatter=...)`, as in Twisted (the proxied one names the first `X-Forwarded-For`
  address, which any client can write; `--trust-forwarded` checks who sent it).
- `HTTPFactory`, `HTTPChannel` and `Request`: Twisted's way of serving below the resource tree.
  A `plugserve.server.Site` is an `HTTPFactory`; see docs/writing-plugins.md, "Protocol
  factories".
"""

from __future__ import annotations

from . import _status
from ._conditional import PRECONDITIONS, if_range_holds
from ._conditional import evaluate as evaluate_preconditions
from ._date import datetimeToString, stringToDatetime
from ._factory import HTTPChannel, HTTPFactory
from ._log import combinedLogFormatter, proxiedLogFormatter
from ._request import Request
from ._status import *  # noqa: F403 - the status constants, RESPONSES, CACHED: Twisted's names

__all__ = [
    "PRECONDITIONS",
    "HTTPChannel",
    "HTTPFactory",
    "Request",
    "combinedLogFormatter",
    "datetimeToString",
    "evaluate_preconditions",
    "if_range_holds",
    "proxiedLogFormatter",
    "stringToDatetime",
]
__all__ += _status.__all__
