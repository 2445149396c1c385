"""Reading a CGI script's response head (RFC 3875 §6), sans I/O: bytes in, a `ScriptHead` out.

Stricter than Twisted (shared/reference/twisted-web.md §6.3), because the script's output is
as untrusted as an upstream's (shared/reference/h11-gaps.md): a line without a colon, a bad
`Status`, a NUL, a bare CR, a folded line, a control character or a head past its size limit
makes the whole output malformed (the client gets 502 and the log says why), where Twisted
drops the line and carries on.  `Status:` keeps its reason phrase, which Twisted drops.  The
script's framing (`Content-Length`, `Transfer-Encoding`), hop-by-hop headers and `Date`/`Server`
are dropped: the server frames the body itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

__all__ = ["HeadReader", "MalformedOutput", "ScriptHead"]

_TOKEN: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_STATUS: Final = re.compile(rb"([1-5][0-9][0-9])(?: (.*))?")
_CONTROL: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_DROPPED: Final = frozenset({
    b"content-length", b"transfer-encoding", b"connection", b"keep-alive", b"te", b"trailer",
    b"upgrade", b"proxy-connection", b"date", b"server", b"status",
})


class MalformedOutput(ValueError):
    """The script's output is not a CGI response; the message says what was wrong."""


@dataclass
class ScriptHead:
    """The response a script's head describes."""

    status: int = 200
    reason: bytes | None = None
    #: The headers to send, lower-case names, in the script's order, repeats kept.
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    #: A `Location:` path to serve from this server instead (RFC 3875 §6.2.2), else None.
    local_redirect: bytes | None = None


class HeadReader:
    """Collect a script's output until its head is complete (`feed` returns the ScriptHead and
    the body bytes that followed it), or MalformedOutput."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._buffer = b""
        self._lines: list[bytes] = []
        self._start = 0  # where the next line begins in _buffer

    def feed(self, data: bytes) -> tuple[ScriptHead, bytes] | None:
        """Add output; the head and the rest once the blank line has arrived, else None."""
        buffer = self._buffer = self._buffer + data
        while (end := buffer.find(b"\n", self._start)) >= 0:
            line = buffer[self._start:end]
            self._start = end + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                return _head(self._lines), buffer[self._start:]
            self._lines.append(line)
        if len(buffer) > self.limit:
            raise MalformedOutput(f"no end of the header block in the first {self.limit} bytes")
        return None


def _head(lines: list[bytes]) -> ScriptHead:
    head = ScriptHead()
    status: bytes | None = None
    location: bytes | None = None
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            raise MalformedOutput(f"a folded line (obs-fold): {line[:80]!r}")
        name, sep, value = line.partition(b":")
        if not sep:
            raise MalformedOutput(f"a header line without a colon: {line[:80]!r}")
        if not _TOKEN.fullmatch(name):
            raise MalformedOutput(f"a bad header name: {line[:80]!r}")
        value = value.strip(b" \t")
        if _CONTROL.search(value):
            raise MalformedOutput(f"a control character (a NUL or a bare CR) in {name!r}")
        lower = name.lower()
        if lower == b"status":
            status = value
        elif lower == b"location":
            location = value
        if lower not in _DROPPED:
            head.headers.append((lower, value))
    if status is not None:
        match = _STATUS.fullmatch(status)
        if match is None or int(match[1]) < 200:
            raise MalformedOutput(f"a bad Status: {status[:80]!r} (give '404 Not Found')")
        head.status, head.reason = int(match[1]), match[2] or None
    if location is not None:
        if not location:
            raise MalformedOutput("an empty Location")
        if location.startswith(b"/") and not location.startswith(b"//") and (
                status is None or head.status == 200):
            head.local_redirect = location
        elif status is None:
            head.status = 302
    return head
