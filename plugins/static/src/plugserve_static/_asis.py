"""`ASISProcessor`: a `.asis` file holds its own status line and headers (Apache mod_asis).

Twisted wrote the file to the socket raw, with no framing, on a kept-alive connection. Here the
head is parsed (`Status: 404 Not Found` or an `HTTP/1.x 404 ...` line, then `Name: value`
lines up to a blank line) and the rest is the body, sent with a Content-Length.
"""

from __future__ import annotations

import re
from typing import Any, Final

from plugserve.resource import Resource, error_html
from plugserve.server import Request

__all__ = ["ASISProcessor"]

_STATUS: Final = re.compile(rb"(?:HTTP/1\.[01] |Status:\s*)(\d{3})(?: (.*))?")
_FIELD: Final = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*")
_FRAMING: Final = frozenset({b"content-length", b"transfer-encoding", b"connection"})


class ASISProcessor(Resource):
    """Serves a file that carries its own status and headers."""

    isLeaf = True

    def __init__(self, path: str, registry: Any = None) -> None:
        super().__init__()
        self.path = path
        self.registry = registry

    def render(self, request: Request) -> bytes:
        """Parse the file's head, then send its body properly framed."""
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except OSError:
            request.setResponseCode(404)
            return error_html(404, "No Such Resource", "File not found.")
        head, sep, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
        if not sep:
            head, body = b"", data
        lines = head.split(b"\n") if head else []
        if lines:
            match = _STATUS.fullmatch(lines[0])
            if match is not None:
                request.setResponseCode(int(match.group(1)), match.group(2) or None)
                lines = lines[1:]
        for line in lines:
            field = _FIELD.fullmatch(line)
            if field is None:
                request.setResponseCode(500)
                return error_html(500, "Bad .asis file", "The file's head is malformed.")
            name = field.group(1).lower()
            if name == b"status":
                code, _, reason = field.group(2).partition(b" ")
                if code.isdigit():
                    request.setResponseCode(int(code), reason or None)
            elif name not in _FRAMING:
                request.responseHeaders.addRawHeader(name, field.group(2))
        return body
