"""Exceptions of the public API, named as in Twisted where Twisted has one."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ConnectionDone", "ConnectionLost", "UnsupportedMethod", "UsageError"]


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
