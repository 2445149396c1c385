"""What a request gets when its resource script makes no resource: a 500 that names the script.

The page names the file (its name only: no page shows a filesystem path) and, for an error, the
line; the details go to the log through the Site's one error handler, `processingFailed`, as a
`ResourceScriptError` whose message holds the full path and line and whose cause is the script's
own exception.  With `--display-tracebacks` the page is that traceback instead.  The failure is
made afresh by each run of the script, so the next request after a fix works.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

from plugserve.resource import Resource, error_html
from plugserve.server import NOT_DONE_YET, Request

__all__ = ["ResourceScriptError", "ScriptFailure", "failed_load", "failed_run", "no_resource"]

_BRIEF = "Resource Script Error"


class ResourceScriptError(Exception):
    """A resource script did not produce a resource; the message says where and why."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"resource script {where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class ScriptFailure(Resource):
    """A leaf answering every request with the 500 for one failed run of a script."""

    isLeaf = True

    def __init__(self, error: ResourceScriptError, detail: str) -> None:
        super().__init__()
        self.error = error
        self.page = error_html(500, _BRIEF, detail)

    def render(self, request: Request) -> Any:
        """Hand the error to the Site, which logs it and sends the 500 page."""
        request.site.processingFailed(request, self.error, page=self.page)
        return NOT_DONE_YET


def _error_line(path: str, exc: BaseException) -> int | None:
    """The line of `path` where `exc` arose: the innermost frame of the traceback that is in
    the script (an error in a module it imports is reported at the script's import line; the
    traceback has the rest)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    return frames[-1].lineno if frames else None


def failed_load(path: str, exc: Exception) -> ScriptFailure:
    """The failure for a script that could not be read or does not compile."""
    line = exc.lineno if isinstance(exc, SyntaxError) else None
    name = os.path.basename(path)
    if isinstance(exc, OSError):
        detail = f"The resource script {name} could not be read."
    elif line is not None:
        detail = f"The resource script {name} has a syntax error at line {line}."
    else:
        detail = f"The resource script {name} does not compile."
    return _failure(path, line, exc, detail)


def failed_run(path: str, exc: BaseException) -> ScriptFailure:
    """The failure for a script that raised while it ran."""
    line = _error_line(path, exc)
    at = f" at line {line}" if line is not None else ""
    detail = f"The resource script {os.path.basename(path)} raised an exception{at}."
    return _failure(path, line, exc, detail)


def _failure(path: str, line: int | None, exc: BaseException, detail: str) -> ScriptFailure:
    error = ResourceScriptError(path, line, f"{type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return ScriptFailure(error, detail + " The server's log has the details.")


def no_resource(path: str, value: object, missing: bool) -> ScriptFailure:
    """The failure for a script that ran but left no Resource in `resource`."""
    name = os.path.basename(path)
    if missing:
        reason = "the script did not set `resource`"
        detail = (f"The resource script {name} did not set the variable `resource` to the "
                  "Resource that renders the page.")
    elif isinstance(value, type):  # `resource = Page`: the class, where Page() was meant
        reason = f"`resource` is the class {value.__name__}, not an instance of it"
        detail = (f"The resource script {name} set `resource` to the class {value.__name__}, "
                  f"not an instance: write `resource = {value.__name__}()`.")
    else:
        kind = type(value).__name__
        reason = f"`resource` is a {kind}, not a Resource"
        detail = f"The resource script {name} set `resource` to a {kind}, not a Resource."
    return ScriptFailure(ResourceScriptError(path, None, reason), detail)
