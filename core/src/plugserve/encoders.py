"""Response encoders (Content-Encoding), with Twisted's factory/encoder interface.

A factory's `encoderForRequest(request)` returns an encoder when the client accepts its coding
(q-values honoured, RFC 9110 §12.5.3); the request activates it when the head is sent, and only
for responses worth encoding: not HEAD/204/304/206, not already encoded, not a type that is
compressed already.  Active or not, `Vary: Accept-Encoding` is added, because the response
depends on that header.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Protocol

from ._response import activate_encoder, add_vary

if TYPE_CHECKING:
    from ._request import Request

__all__ = [
    "Encoder",
    "EncoderFactory",
    "GzipEncoderFactory",
    "accepted_codings",
    "activate_encoder",
    "add_vary",
    "choose_encoder",
]



class Encoder(Protocol):
    """Encodes one response body, piece by piece."""

    def encode(self, data: bytes) -> bytes: ...
    def finish(self) -> bytes: ...


class EncoderFactory(Protocol):
    """Makes an encoder for a request whose client accepts its coding, else returns None."""

    def encoderForRequest(self, request: Request) -> Encoder | None: ...


def accepted_codings(request: Request) -> dict[bytes, float]:
    """Coding -> q-value from every Accept-Encoding header (lower-cased; `*` kept)."""
    result: dict[bytes, float] = {}
    for header in request.requestHeaders._raw.get(b"accept-encoding", ()):
        for item in header.split(b","):
            coding, _, params = item.partition(b";")
            coding = coding.strip().lower()
            if not coding:
                continue
            q = 1.0
            for param in params.split(b";"):
                key, _, value = param.partition(b"=")
                if key.strip().lower() == b"q":
                    try:
                        q = float(value.strip())
                    except ValueError:
                        q = 0.0
            result[coding] = q
    return result


def accepts(request: Request, coding: bytes) -> bool:
    """True if the client accepts `coding` with a non-zero q-value."""
    return bool(_q_value(accepted_codings(request), coding))


class _GzipEncoder:
    coding: Final = b"gzip"

    def __init__(self, level: int) -> None:
        self._compress = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def encode(self, data: bytes) -> bytes:
        return self._compress.compress(data)

    def finish(self) -> bytes:
        return self._compress.flush()


class GzipEncoderFactory:
    """gzip, as Twisted's factory, but honouring q-values and case (`GZIP;q=0.5`)."""

    encoding: Final = b"gzip"

    def __init__(self, compressLevel: int = 6) -> None:
        self.compressLevel = compressLevel

    def encoderForRequest(self, request: Request) -> Encoder | None:
        """A gzip encoder if the client accepts gzip."""
        if accepts(request, b"gzip"):
            return _GzipEncoder(self.compressLevel)
        return None


def _q_value(codings: dict[bytes, float], coding: bytes) -> float:
    """The client's q-value for `coding`, as `accepts` reads it: `x-gzip` counts as `gzip`
    (RFC 9110 §8.4.1.3), then `*`, else 0."""
    q = codings.get(coding)
    if q is None and coding == b"gzip":
        q = codings.get(b"x-gzip")
    if q is None:
        q = codings.get(b"*", 0.0)
    return q


def choose_encoder(factories: Sequence[EncoderFactory], request: Request) -> Encoder | None:
    """The encoder of the client's most preferred coding; ties go to the factories' order.

    Whatever the outcome, the response now depends on Accept-Encoding, so the request is marked
    to carry `Vary: Accept-Encoding` (also when nothing is encoded: a cache must not hand the
    identity response to a client that accepts gzip, or the reverse)."""
    if factories:
        request._vary_accept_encoding = True
    if not request.requestHeaders._raw.get(b"accept-encoding"):
        return None
    codings = accepted_codings(request)
    best: tuple[float, int, EncoderFactory] | None = None
    for index, factory in enumerate(factories):
        coding = getattr(factory, "encoding", None)
        # Same lookup as `accepts` (x-gzip alias included), so the two never disagree.
        q = _q_value(codings, coding) if coding else 1.0
        if q > 0 and (best is None or q > best[0]):
            best = (q, index, factory)
    if best is None:
        return None
    ranked = [best[2]] + [f for f in factories if f is not best[2]]
    for factory in ranked:
        encoder = factory.encoderForRequest(request)
        if encoder is not None:
            return encoder
    return None
