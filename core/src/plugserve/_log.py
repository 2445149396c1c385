"""The access log (Combined Log Format, one line per request) and the error log set-up.

Unlike Twisted's, the client address is not quoted (standard CLF), the file does not rotate (use
logrotate and SIGHUP-free copytruncate, or `-` and a supervisor), and lines are buffered and
written within half a second so logging stays off the response path.  Every write holds whole
lines only, so workers sharing a log file or pipe (`--workers`) never interleave within a line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import stat
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Final

from ._date import clf_now

if TYPE_CHECKING:
    from ._request import Request

__all__ = [
    "AccessLog",
    "LogFormatter",
    "combinedLogFormatter",
    "combined_log_line",
    "configure_error_log",
    "proxiedLogFormatter",
    "tag_error_log_with_pid",
]

#: Twisted's `Site(logFormatter=...)`: (timestamp "[03/Dec/2026:15:41:34 +0000]", request)
#: -> the line, without its newline.
LogFormatter = Callable[[str, "Request"], str]
_error_log = logging.getLogger("plugserve")

#: Lines are written once this many bytes wait, and within _FLUSH_DELAY_S anyway.
_BUFFER_BYTES: Final = 65536
_FLUSH_DELAY_S: Final = 0.5
_FORMAT: Final = "%(asctime)s [plugserve] %(levelname)s: %(message)s"
_FORMAT_WITH_PID: Final = "%(asctime)s [plugserve %(process)d] %(levelname)s: %(message)s"

_ESCAPES: Final = {i: f"\\x{i:02x}" for i in [*range(0x20), *range(0x7F, 0x100)]}
_ESCAPES[ord('"')] = '\\"'
_ESCAPES[ord("\\")] = "\\\\"


def _escape(value: bytes) -> str:
    """Printable ASCII as is; quotes, backslashes and other bytes escaped (never raw)."""
    return value.decode("latin-1").translate(_ESCAPES)


def combined_log_line(request: Request, timestamp: str | None = None,
                      client: str | None = None) -> str:
    """`host - - [time] "request line" status length "referer" "user-agent"`, then any
    `key=value` of `request.log_fields`.  `timestamp` (with its brackets) and `client`
    replace the current time and the request's client address."""
    if client is None:
        client = getattr(request.client, "host", None) or "-"
    headers = request.requestHeaders
    referer = headers._last(b"referer")
    agent = headers._last(b"user-agent")
    length = request.sentLength or "-"
    code = request.code if request.startedWriting else 499
    line = (
        f'{client} - - {timestamp or f"[{clf_now()}]"} "{_escape(request.method)} '
        f'{_escape(request.uri)} {_escape(request.clientproto)}" {code} {length} '
        f'"{_escape(referer) if referer else "-"}" "{_escape(agent) if agent else "-"}"'
    )
    fields = request.__dict__.get("log_fields")
    if fields:  # a resource's notes (Request.log_fields), after the combined format
        line += "".join(f" {key}={_escape(str(value).encode())}" for key, value in fields.items())
    return line + "\n"


def combinedLogFormatter(timestamp: str, request: Request) -> str:
    """Twisted's `twisted.web.http.combinedLogFormatter`: the combined line (the address is not
    quoted, as in standard CLF), for `Site(logFormatter=...)`."""
    return combined_log_line(request, timestamp)[:-1]


def proxiedLogFormatter(timestamp: str, request: Request) -> str:
    """Twisted's `proxiedLogFormatter`: the combined line with the client taken from the first
    `X-Forwarded-For` entry (`-` without one).  Any client can write that header: behind
    a front proxy prefer `--trust-forwarded` (plugserve-vhost), which checks who sent it."""
    forwarded = request.requestHeaders._last(b"x-forwarded-for")
    first = forwarded.split(b",")[0].strip() if forwarded else b""
    return combined_log_line(request, timestamp, _escape(first) if first else "-")[:-1]


def _site_line(request: Request) -> str:
    """The line of `request`: its Site's `logFormatter`'s if it has one, else combined.  A
    formatter that raises is logged, and the combined line is written instead."""
    formatter: LogFormatter | None = getattr(getattr(request, "site", None), "logFormatter",
                                             None)
    if formatter is None:
        return combined_log_line(request)
    try:
        return formatter(f"[{clf_now()}]", request) + "\n"
    except Exception:  # noqa: BLE001 - user code: log it, never lose the line
        _error_log.exception("the Site's logFormatter %r failed; wrote the combined line",
                             formatter)
        return combined_log_line(request)


class AccessLog:
    """Writes combined-log lines to a file, stdout (`-`) or stderr (None), buffered.

    Lines are written with os.write, whole, so that processes sharing the log (`--workers`)
    never cut each other's lines: a file is opened with O_APPEND, where one write appends any
    number of whole lines at once; to anything else (a pipe, a terminal) a write carries at most
    PIPE_BUF bytes of whole lines, which the kernel keeps together however many processes write.
    Only a line longer than PIPE_BUF (a huge URL) can be split on a shared pipe."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._stream: IO[str] | None = None
        self._fd = -1
        self._owned = False
        if path is None or path == "-":
            self._stream = sys.stderr if path is None else sys.stdout
            try:
                self._fd = self._stream.fileno()
            except (AttributeError, OSError, ValueError):  # a replaced stream (pytest's capsys)
                self._fd = -1
        else:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            self._owned = True
        self._chunk = _atomic_write_size(self._fd)
        self._lines: list[str] = []
        self._size = 0
        self._flush_pending = False

    def log(self, request: Request) -> None:
        """Buffer the line of a finished (or abandoned) request; written within half a second,
        or at once when _BUFFER_BYTES are waiting."""
        line = _site_line(request)
        self._lines.append(line)
        self._size += len(line)
        if self._size >= _BUFFER_BYTES:
            self.flush()
        elif not self._flush_pending:
            try:
                asyncio.get_running_loop().call_later(_FLUSH_DELAY_S, self.flush)
                self._flush_pending = True
            except RuntimeError:
                self.flush()

    def flush(self) -> None:
        """Write the buffered lines (a write error loses them: logging never stops serving)."""
        self._flush_pending = False
        lines, self._lines, self._size = self._lines, [], 0
        if not lines:
            return
        try:
            if self._chunk is None:
                self._write("".join(lines).encode())
                return
            chunk: list[bytes] = []
            size = 0
            for line in lines:
                data = line.encode()
                if chunk and size + len(data) > self._chunk:
                    self._write(b"".join(chunk))
                    chunk, size = [], 0
                chunk.append(data)
                size += len(data)
            self._write(b"".join(chunk))
        except (OSError, ValueError):
            pass

    def _write(self, data: bytes) -> None:
        if self._fd < 0:
            assert self._stream is not None
            self._stream.write(data.decode())
            self._stream.flush()
            return
        if self._stream is not None:
            self._stream.flush()  # whatever the error log wrote through it comes first
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def close(self) -> None:
        """Flush, and close the file if this log opened it."""
        self.flush()
        if self._owned and self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _atomic_write_size(fd: int) -> int | None:
    """The most bytes one write may carry for processes sharing `fd` not to interleave within
    it: no limit for a regular file (O_APPEND), PIPE_BUF for anything else."""
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return None
    except OSError:
        pass
    return select.PIPE_BUF


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


def tag_error_log_with_pid() -> None:
    """In a worker (`--workers`): error-log lines name the process that wrote them."""
    for handler in logging.getLogger("plugserve").handlers:
        if getattr(handler, "_plugserve", False):
            handler.setFormatter(logging.Formatter(_FORMAT_WITH_PID))
