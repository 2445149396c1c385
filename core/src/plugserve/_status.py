"""Status-code constants and reason phrases, named as in `twisted.web.http`.

Reason phrases are RFC 9110's (Twisted spells a few differently, e.g. "Request Time-out").
"""

from __future__ import annotations

from http import HTTPStatus
from types import MappingProxyType
from typing import Final

__all__ = [
    "ACCEPTED",
    "BAD_GATEWAY",
    "BAD_REQUEST",
    "CACHED",
    "CONFLICT",
    "CREATED",
    "EXPECTATION_FAILED",
    "FORBIDDEN",
    "FOUND",
    "GATEWAY_TIMEOUT",
    "GONE",
    "HTTP_VERSION_NOT_SUPPORTED",
    "INTERNAL_SERVER_ERROR",
    "LENGTH_REQUIRED",
    "MOVED_PERMANENTLY",
    "NOT_ACCEPTABLE",
    "NOT_ALLOWED",
    "NOT_FOUND",
    "NOT_IMPLEMENTED",
    "NOT_MODIFIED",
    "NO_CONTENT",
    "OK",
    "PARTIAL_CONTENT",
    "PERMANENT_REDIRECT",
    "PRECONDITION_FAILED",
    "REQUESTED_RANGE_NOT_SATISFIABLE",
    "REQUEST_ENTITY_TOO_LARGE",
    "REQUEST_HEADER_FIELDS_TOO_LARGE",
    "REQUEST_TIMEOUT",
    "REQUEST_URI_TOO_LONG",
    "RESPONSES",
    "SEE_OTHER",
    "SERVICE_UNAVAILABLE",
    "TEMPORARY_REDIRECT",
    "UNAUTHORIZED",
    "UNSUPPORTED_MEDIA_TYPE",
    "reason_phrase",
]

RESPONSES: Final = MappingProxyType(
    {int(status): status.phrase.encode("ascii") for status in HTTPStatus}
    | {  # RFC 9110 §15 renamed these; older Pythons still carry the RFC 7231 names.
        413: b"Content Too Large",
        414: b"URI Too Long",
        416: b"Range Not Satisfiable",
        422: b"Unprocessable Content",
    }
)

#: Returned by `Request.setLastModified` / `setETag` when the client's copy is fresh.
CACHED: Final = "cached"

OK: Final = 200
CREATED: Final = 201
ACCEPTED: Final = 202
NO_CONTENT: Final = 204
PARTIAL_CONTENT: Final = 206
MOVED_PERMANENTLY: Final = 301
FOUND: Final = 302
SEE_OTHER: Final = 303
NOT_MODIFIED: Final = 304
TEMPORARY_REDIRECT: Final = 307
PERMANENT_REDIRECT: Final = 308
BAD_REQUEST: Final = 400
UNAUTHORIZED: Final = 401
FORBIDDEN: Final = 403
NOT_FOUND: Final = 404
NOT_ALLOWED: Final = 405
NOT_ACCEPTABLE: Final = 406
REQUEST_TIMEOUT: Final = 408
CONFLICT: Final = 409
GONE: Final = 410
LENGTH_REQUIRED: Final = 411
PRECONDITION_FAILED: Final = 412
REQUEST_ENTITY_TOO_LARGE: Final = 413
REQUEST_URI_TOO_LONG: Final = 414
UNSUPPORTED_MEDIA_TYPE: Final = 415
REQUESTED_RANGE_NOT_SATISFIABLE: Final = 416
EXPECTATION_FAILED: Final = 417
REQUEST_HEADER_FIELDS_TOO_LARGE: Final = 431
INTERNAL_SERVER_ERROR: Final = 500
NOT_IMPLEMENTED: Final = 501
BAD_GATEWAY: Final = 502
SERVICE_UNAVAILABLE: Final = 503
GATEWAY_TIMEOUT: Final = 504
HTTP_VERSION_NOT_SUPPORTED: Final = 505


def reason_phrase(code: int) -> bytes:
    """The reason phrase for `code`, or b"Unknown Status" as Twisted says."""
    return RESPONSES.get(code, b"Unknown Status")
