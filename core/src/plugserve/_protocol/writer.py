# Theory of operation
#
# ResponseWriter frames one response, sans I/O: head, body pieces and end in, bytes out.  h11
# parses requests; it does not write responses here, because its send side (an event object, a
# state-machine pass and a regex per header, three times per response) cost as much as its
# parser.  The rules it applied are few and are all here, from RFC 9112: a response to HEAD, a
# 1xx, 204 or 304 has no body (§6.3); a body is framed by Content-Length when the resource gave
# one, else chunked for an HTTP/1.1 client, else delimited by closing the connection (HTTP/1.0);
# the connection is kept only when both sides allow it (§9.3), and a response that ends it says
# `Connection: close` (§9.6).  A response that switches protocols, a 2xx to CONNECT (RFC 9110
# §9.3.6) or a 101 (§15.2.2), has no body framing at all: the bytes after its head belong to
# the tunnel or the new protocol, and the connection never carries HTTP again (_switch_head).
# A resource that breaks its own Content-Length gets a InvalidResponse (errors.py), which the
# channel turns into a dropped connection.
from __future__ import annotations

import re
from typing import Final

from ..http_headers import _CR, _LF, canonical_name
from .errors import InvalidResponse

__all__ = ["ResponseWriter"]

# RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ).
_REASON_RE: Final = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
# RFC 9110 §5.5: field values are visible characters, SP and HTAB (obs-text allowed).
_BAD_VALUE_RE: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]|^[ \t]|[ \t]$")
# Control bytes other than HTAB, CR and LF: a head has them only if a value is invalid.
_CTL_RE: Final = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TOKEN_RE: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_DIGITS_RE: Final = re.compile(rb"[0-9]{1,20}")

_NONE: Final = 0  # no body may follow (HEAD, 1xx, 204, 304)
_LENGTH: Final = 1
_CHUNKED: Final = 2
_CLOSE: Final = 3


def wire_name(name: bytes) -> bytes:
    """The wire spelling of a lower-case field name, which must be a token (RFC 9110 §5.1).
    Not cached itself: _PREFIXES holds its result for every name but the framing ones, and
    canonical_name has its own cache."""
    if _TOKEN_RE.fullmatch(name) is None:
        raise InvalidResponse(f"illegal header name {name!r}")
    return canonical_name(name)


#: Lower-case name -> `Wire-Name: ` for the names written as they are (not the three below,
#: which the framing rules look at): one dict lookup per header line.  Bounded, as _NAMES is.
_PREFIXES: dict[bytes, bytes] = {}
_PREFIXES_MAX: Final = 512
_FRAMING_NAMES: Final = frozenset({b"content-length", b"transfer-encoding", b"connection"})


def _prefix(name: bytes) -> bytes:
    """`Wire-Name: ` for a name that is not one of _FRAMING_NAMES (cached)."""
    prefix = wire_name(name) + b": "
    if len(_PREFIXES) < _PREFIXES_MAX:
        _PREFIXES[name] = prefix
    return prefix


class ResponseWriter:
    """The framing of the response to one request."""

    def __init__(
        self, method: bytes, http_version: bytes, client_keep_alive: bool,
        upgradable: bool = False,
    ) -> None:
        self._head_request = method == b"HEAD"
        self._connect = method == b"CONNECT"
        #: The request may be answered 101: HTTP/1.1 with an Upgrade header (RFC 9110 §7.8).
        self._upgradable = upgradable
        #: True once the head sent switches protocols (a 2xx to CONNECT, a 101).
        self.switching = False
        self._http11 = http_version != b"1.0"
        #: False once either side asked to close, or the body is delimited by the close.
        self.keep_alive = client_keep_alive and self._http11
        self._framing = _NONE
        self._remaining = 0
        self.started = False
        self.done = False

    @property
    def length_framed(self) -> bool:
        """True when the body is framed by its Content-Length (bytes may bypass the writer)."""
        return self._framing == _LENGTH

    def head(self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
        """The status line and headers, with the framing headers the body needs added.

        A reason phrase or value with CR, LF or another control byte, or with whitespace
        around a value, raises InvalidResponse: written as it is, it could inject headers."""
        if status == 101 or (self._connect and 200 <= status < 300):
            return self._switch_head(status, reason, headers)
        lines = [b"HTTP/1.1 %d %s" % (status, reason)]
        length: bytes | None = None
        chunked = False
        connection_set = False
        append = lines.append
        for name, value in headers:
            prefix = _PREFIXES.get(name)
            if prefix is not None:
                append(prefix + value)
                continue
            if name not in _FRAMING_NAMES:
                append(_prefix(name) + value)
                continue
            if name == b"content-length":
                if length is not None or _DIGITS_RE.fullmatch(value) is None:
                    raise InvalidResponse(f"bad Content-Length {value!r}")
                length = value
                continue  # written below, when it frames the body
            elif name == b"transfer-encoding":
                if value.lower() != b"chunked" or chunked:
                    raise InvalidResponse(f"unsupported Transfer-Encoding {value!r}")
                chunked = True
                continue  # written below, once
            else:  # Connection
                if value.lower().find(b"close") >= 0:
                    self.keep_alive = False
                connection_set = True
            append(wire_name(name) + b": " + value)
        if self._head_request or status < 200 or status in (204, 304):
            self._framing = _NONE
            if length is not None and status >= 200 and status != 204:
                lines.append(b"Content-Length: " + length)  # HEAD/304: what GET would send
        elif length is not None and not chunked:
            self._framing = _LENGTH
            self._remaining = int(length)
            lines.append(b"Content-Length: " + length)
        elif self._http11:
            self._framing = _CHUNKED
            lines.append(b"Transfer-Encoding: chunked")
        else:
            self._framing = _CLOSE
            self.keep_alive = False
        if not self.keep_alive:
            if connection_set:  # the resource's own Connection line gives way to this one
                lines = [line for line in lines if line[:11].lower() != b"connection:"]
            lines.append(b"Connection: close")
        lines.append(b"\r\n")
        head = b"\r\n".join(lines)
        # One scan of the whole head instead of a regex per value: exactly the CRLFs joined
        # here, no other control byte, no whitespace around a value.  Anything suspect
        # (which a valid value can be: "a:  b") gets the exact check, value by value.
        # (find, not `in`: bytes.__contains__ tries the needle as an int first and builds a
        # TypeError, which costs more than the search.)
        count = len(lines)
        find = head.find
        if (
            head.count(_LF) != count
            or head.count(_CR) != count
            or _CTL_RE.search(head) is not None
            or find(b":  ") >= 0
            or find(b": \t") >= 0
            or find(b" \r\n") >= 0
            or find(b"\t\r\n") >= 0
        ):
            _check_exactly(reason, headers)
        self.started = True
        return head

    def _switch_head(
        self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]
    ) -> bytes:
        """The head of a 2xx to CONNECT or of a 101: no Content-Length, no Transfer-Encoding
        (RFC 9110 §9.3.6, §15.2.2), and no `Connection: close` (what follows is no longer
        HTTP).  A 101 answers only a request that asked to upgrade, names its protocol in
        Upgrade, and lists `upgrade` in Connection (RFC 9110 §7.8), added when missing."""
        if status == 101 and not self._upgradable:
            raise InvalidResponse(
                "101 Switching Protocols answers only an HTTP/1.1 request with an Upgrade "
                "header (RFC 9110 §7.8)"
            )
        lines = [b"HTTP/1.1 %d %s" % (status, reason)]
        upgrade = connection_upgrade = False
        for name, value in headers:
            if name in (b"content-length", b"transfer-encoding"):
                continue
            if name == b"connection":
                tokens = [token.strip().lower() for token in value.split(b",")]
                if tokens == [b"close"]:
                    continue  # the shutdown's, or the resource's: meaningless here
                connection_upgrade = connection_upgrade or b"upgrade" in tokens
            elif name == b"upgrade":
                upgrade = True
            lines.append(wire_name(name) + b": " + value)
        if status == 101:
            if not upgrade:
                raise InvalidResponse(
                    "a 101 response needs an Upgrade header naming the protocol it switches "
                    "to (RFC 9110 §7.8)"
                )
            if not connection_upgrade:
                lines.append(b"Connection: upgrade")
        _check_exactly(reason, headers)
        self._framing = _NONE
        self.keep_alive = False
        self.switching = self.started = True
        lines.append(b"\r\n")
        return b"\r\n".join(lines)

    def body(self, data: bytes) -> bytes:
        """One piece of the body, framed."""
        framing = self._framing
        if framing == _LENGTH:
            self.skip(len(data))
            return data
        if framing == _CHUNKED:
            return b"%x\r\n%b\r\n" % (len(data), data) if data else b""
        if framing == _CLOSE:
            return data
        if data:
            raise InvalidResponse("this response cannot have a body")
        return b""

    def skip(self, count: int) -> None:
        """Count body bytes the caller sends itself (sendfile), against the Content-Length."""
        if self._framing != _LENGTH:
            raise InvalidResponse("only a body framed by Content-Length can bypass")
        self._remaining -= count
        if self._remaining < 0:
            raise InvalidResponse("Too much data for declared Content-Length")

    def end(self) -> bytes:
        """The end of the body (the last chunk when chunked)."""
        self.done = True
        if self._framing == _LENGTH and self._remaining:
            raise InvalidResponse("Too little data for declared Content-Length")
        if self._framing == _CHUNKED:
            return b"0\r\n\r\n"
        return b""


def _check_exactly(reason: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    """Raise InvalidResponse for an invalid reason phrase or header value."""
    if _REASON_RE.fullmatch(reason) is None:
        raise InvalidResponse(f"illegal reason phrase {reason!r}")
    for _, value in headers:
        if _BAD_VALUE_RE.search(value) is not None:
            raise InvalidResponse(f"illegal header value {value!r}")
