"""Choosing the HTTP/1.1 engine: `h11` (always installed, the reference) or `httptools` (the
optional `plugserve[fast]` extra, llhttp in front of h11; see fast_engine.py).  `auto`, the
default, is httptools when it can be imported, else h11.

The choice is resolved once per process and name (the import is tried once), so a connection
pays one cached lookup for it."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Final

from ..error import UsageError
from .common import Limits
from .h11_engine import HTTPConnection

if TYPE_CHECKING:
    from ..config import Config

__all__ = ["ENGINES", "connection_class", "engine_name", "make_connection"]

#: The values of --http / Config.http_engine.
ENGINES: Final = ("auto", "h11", "httptools")
_INSTALL_HINT: Final = 'from a plugserve checkout: pip install "./core[fast]"'


@functools.cache
def engine_name(requested: str) -> str:
    """The engine `requested` resolves to ("h11" or "httptools").

    Raises UsageError for an unknown name, or for httptools when it is not installed."""
    if requested not in ENGINES:
        raise UsageError(f"unknown HTTP engine {requested!r} (choose from {', '.join(ENGINES)})")
    if requested == "h11":
        return "h11"
    try:
        from . import fast_engine  # noqa: F401 - only whether it imports
    except ImportError as exc:
        if requested == "httptools":
            reason = (
                "httptools is not installed" if exc.name == "httptools" else str(exc)
            )
            raise UsageError(f"--http httptools: {reason} ({_INSTALL_HINT})") from None
        return "h11"
    return "httptools"


@functools.cache
def connection_class(requested: str) -> type[HTTPConnection]:
    """The HTTPConnection class of the engine `requested` resolves to."""
    if engine_name(requested) == "httptools":
        from .fast_engine import FastHTTPConnection

        return FastHTTPConnection
    return HTTPConnection


def make_connection(config: Config, limits: Limits | None = None) -> HTTPConnection:
    """A new connection state machine of the engine `config.http_engine` selects."""
    return connection_class(config.http_engine)(config.limits if limits is None else limits)
