"""The protocol layer's own error types, so that nothing above it depends on h11's.

A request that breaks HTTP/1.1's rules is not an exception: the engines turn it into a
`ProtocolError` event (common.py) carrying the status to answer with.  What is raised is the
server's own mistake, a response that cannot be framed as given.
"""

from __future__ import annotations

__all__ = ["InvalidResponse"]


class InvalidResponse(Exception):
    """A response the writer refuses to frame (RFC 9110/9112): an illegal header name or value
    (it could inject headers), a bad Content-Length, a body on a response that cannot have one,
    or more or fewer body bytes than the Content-Length declared."""
