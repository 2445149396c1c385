"""The framing of a chunked request body, checked byte by byte before h11 parses it.

h11 reads chunk-size lines with the regex `size;.*`, so it accepts a bare CR, a NUL or any other
control byte in a chunk extension (CVE-2022-24801 in Twisted), extensions of any length, and
whitespace after the size.  A front proxy that splits lines on a bare CR, or stops at the first
space, frames such a body differently from us: request smuggling.  ChunkScanner follows the
chunk framing (size line, data, CRLF) over the same bytes h11 is given, and refuses every size
line that is not exactly RFC 9112 §7.1's grammar.  It also knows each declared chunk size the
moment its line ends, so an oversized chunk is refused before its data is sent (413).

The trailer section after the last chunk is left to h11, which parses it as header lines; the
server drops trailers (they are never merged into the request's headers).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["SIZE_LINE", "ChunkScanner"]

_TOKEN: Final = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
_QUOTED: Final = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
# RFC 9112 §7.1 and §7.1.1: chunk-size [ chunk-ext ] CRLF, with
# chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] ),
# except that the first ";" follows the size at once, as h11 requires (no whitespace after the
# size).  At most 20 hex digits, as h11 (a size past the body limit is then a 413, not a 400).
SIZE_LINE: Final = re.compile(
    rb"([0-9A-Fa-f]{1,20})((?:;[ \t]*" + _TOKEN
    + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN + rb"|" + _QUOTED + rb"))?[ \t]*)*)\r"
)


class ChunkScanner:
    """Follows one chunked body and refuses a malformed or oversized chunk-size line.

    `feed(data)` returns None while the framing is sound, else (status, reason)."""

    __slots__ = ("_crlf", "_done", "_in_chunk", "_line", "_max_body", "_max_line", "declared")

    def __init__(self, max_line_bytes: int, max_body_bytes: int) -> None:
        self._max_line = max_line_bytes
        self._max_body = max_body_bytes
        self._line = bytearray()
        self._in_chunk = 0  # data bytes of the current chunk still to come
        self._crlf = 0  # bytes of the CRLF after a chunk's data still to come
        self._done = False  # the last chunk was seen: the trailers are h11's
        #: The sum of the chunk sizes declared so far.
        self.declared = 0

    def feed(self, data: bytes) -> tuple[int, str] | None:
        """Scan the next body bytes."""
        pos, size = 0, len(data)
        while pos < size and not self._done:
            if self._in_chunk:
                step = min(self._in_chunk, size - pos)
                pos += step
                self._in_chunk -= step
                if not self._in_chunk:
                    self._crlf = 2
            elif self._crlf:
                step = min(self._crlf, size - pos)
                pos += step
                self._crlf -= step
            else:
                end = data.find(b"\n", pos)
                stop = size if end < 0 else end
                line = self._line
                line += data[pos:stop]
                if len(line) > self._max_line:
                    return 400, "chunk-size line too long"
                if end < 0:
                    return None
                pos = end + 1
                error = self._size_line(bytes(line))
                line.clear()
                if error is not None:
                    return error
        return None

    def _size_line(self, line: bytes) -> tuple[int, str] | None:
        match = SIZE_LINE.fullmatch(line)
        if match is None:
            return 400, "invalid chunk-size line"
        chunk = int(match.group(1), 16)
        self.declared += chunk
        if self.declared > self._max_body:
            return 413, "request body too large"
        if chunk:
            self._in_chunk = chunk
        else:
            self._done = True
        return None
