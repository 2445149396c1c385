"""The failures of running a script, as the responses and log lines they become."""

from __future__ import annotations

from typing import Any

from plugserve.resource import ErrorPage

__all__ = ["ScriptError"]


class ScriptError(Exception):
    """A request that ends with an error page: `status`, `brief`, `detail` for the client, and
    `log` (None: nothing) for the error log."""

    def __init__(self, status: int, brief: str, detail: str, log: str | None = None) -> None:
        super().__init__(log or detail)
        self.status = status
        self.brief = brief
        self.detail = detail
        self.log = log

    def render(self, request: Any) -> bytes:
        """The error page, as a render returns it."""
        return ErrorPage(self.status, self.brief, self.detail).render(request)

