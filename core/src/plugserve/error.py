"""Exceptions of the public API, named as in Twisted where Twisted has one."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ConnectionDone",
    "ConnectionLost",
    "RequestBodyError",
    "UnsupportedMethod",
    "UsageError",
]


class UnsupportedMethod(Exception):
    """Raised by `Resource.render` when no `render_<METHOD>` exists; carries what is allowed."""

    def __init__(self, allowedMethods: Sequence[bytes], *args: object) -> None:
        super().__init__(allowedMethods, *args)
        self.allowedMethods = list(allowedMethods)


class ConnectionLost(Exception):
    """The client went away before the response was finished (notifyFinish fails with it)."""


class ConnectionDone(ConnectionLost):
    """The client closed the connection cleanly before the response was finished."""


class UsageError(Exception):
    """A command-line option or configuration value is wrong; the CLI exits with status 2."""


class RequestBodyError(OSError):
    """A streamed request body cannot be read to its end: the client went away, broke the
    framing, passed the body-size limit or timed out (see Resource.stream_request_body)."""
