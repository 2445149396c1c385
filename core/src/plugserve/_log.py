"""The access log (Combined Log Format, one line per request) and the error log set-up.

Unlike Twisted's, the client address is not quoted (standard CLF), the file does not rotate (use
logrotate and SIGHUP-free copytruncate, or `-` and a supervisor), and lines are buffered and
flushed at least once a second so logging stays off the response path.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import IO, TYPE_CHECKING, Final

from ._date import clf_now

if TYPE_CHECKING:
    from ._request import Request

__all__ = ["AccessLog", "combined_log_line", "configure_error_log"]

_ESCAPES: Final = {i: f"\\x{i:02x}" for i in [*range(0x20), *range(0x7F, 0x100)]}
_ESCAPES[ord('"')] = '\\"'
_ESCAPES[ord("\\")] = "\\\\"


def _escape(value: bytes) -> str:
    """Printable ASCII as is; quotes, backslashes and other bytes escaped (never raw)."""
    return value.decode("latin-1").translate(_ESCAPES)


def combined_log_line(request: Request) -> str:
    """`host - - [time] "request line" status length "referer" "user-agent"`."""
    client = getattr(request.client, "host", None) or "-"
    headers = request.requestHeaders
    referer = headers._last(b"referer")
    agent = headers._last(b"user-agent")
    length = request.sentLength or "-"
    code = request.code if request.startedWriting else 499
    return (
        f'{client} - - [{clf_now()}] "{_escape(request.method)} {_escape(request.uri)} '
        f'{_escape(request.clientproto)}" {code} {length} '
        f'"{_escape(referer) if referer else "-"}" "{_escape(agent) if agent else "-"}"\n'
    )


class AccessLog:
    """Writes combined-log lines to a file, stdout (`-`) or stderr (None), buffered."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._stream: IO[str]
        self._owned = False
        if path is None:
            self._stream = sys.stderr
        elif path == "-":
            self._stream = sys.stdout
        else:
            self._stream = open(path, "a", encoding="utf-8", buffering=65536)  # noqa: SIM115
            self._owned = True
        self._flush_pending = False

    def log(self, request: Request) -> None:
        """Write the line for a finished (or abandoned) request; flushed within half a second."""
        self._stream.write(combined_log_line(request))
        if not self._flush_pending:
            try:
                asyncio.get_running_loop().call_later(0.5, self.flush)
                self._flush_pending = True
            except RuntimeError:
                self.flush()

    def flush(self) -> None:
        """Push buffered lines to the file."""
        self._flush_pending = False
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        """Flush, and close the file if this log opened it."""
        self.flush()
        if self._owned:
            self._stream.close()


def configure_error_log(stream: IO[str] | None = None, level: int = logging.INFO) -> None:
    """Send the `plugserve` logger (errors, tracebacks, bad requests) to stderr."""
    logger = logging.getLogger("plugserve")
    if any(getattr(h, "_plugserve", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._plugserve = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
