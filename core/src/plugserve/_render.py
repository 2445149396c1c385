"""Turn what `render` returned into a response: bytes, NOT_DONE_YET or an awaitable.

Anything else is a programming error in the resource and becomes a 500 naming it.  Method
errors follow RFC 9110: 405 with an Allow header for a method the resource could have rendered,
501 for a method this server does not know at all.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import logging
from typing import TYPE_CHECKING, Any, Final

from ._loop_cleanup import end_with_server
from .error import ConnectionLost, UnsupportedMethod
from .resource import error_html

if TYPE_CHECKING:
    from ._request import Request
    from .resource import IResource

__all__ = ["NOT_DONE_YET", "render_request"]

#: Returned by render to say the resource will write and finish the request itself.
NOT_DONE_YET: Final = 1

# RFC 9110 §9 and RFC 5789: methods answered 405 (not 501) when a resource lacks them.
_KNOWN_METHODS: Final = frozenset(
    {b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS", b"TRACE", b"PATCH"}
)
_log = logging.getLogger("plugserve")


def render_request(resource: IResource, request: Request) -> None:
    """Render `resource` for `request` and send whatever it returns."""
    try:
        body = resource.render(request)
    except UnsupportedMethod as exc:
        body = _unsupported(request, exc.allowedMethods)
    if type(body) is bytes:
        request._finish_with(body)
    elif _is_not_done_yet(body):
        return
    elif inspect.isawaitable(body):
        # Kept on the request so that the client going away cancels it (connectionLost).
        task = request._render_task = asyncio.get_running_loop().create_task(
            _render_later(resource, request, body))
        end_with_server(task)  # a closing server lets it unwind before its loop stops
    else:
        _bad_result(resource, request, body)


async def _render_later(resource: IResource, request: Request, awaitable: Any) -> None:
    try:
        body = await awaitable
        if request._disconnected or request.finished:
            return
        if type(body) is bytes:
            request._finish_with(body)
        elif body is None and request.startedWriting:
            request.finish()
        elif not _is_not_done_yet(body):
            _bad_result(resource, request, body)
    except ConnectionLost:
        # The client left while the render waited to write (`wait_writable`): not an error
        # of the server's, so no traceback (Twisted logs nothing either); the access log
        # already records the request.
        _log.debug("%s %s: the client left during the response",
                   request.method.decode("latin-1"), request.uri.decode("latin-1"))
    except Exception as exc:  # noqa: BLE001 - one place per request catches its errors
        request.site.processingFailed(request, exc)
    finally:
        request._render_task = None  # ended: nothing to cancel, and no cycle kept alive


def _is_not_done_yet(body: object) -> bool:
    """True only for the int NOT_DONE_YET, as Twisted's `body is NOT_DONE_YET`.

    A plain `body == NOT_DONE_YET` also matched `True` and `1.0`: such a render then got no
    response at all and its connection hung (no timeout runs while a response is pending),
    where Twisted answers 500 "did not return bytes"."""
    return type(body) is int and body == NOT_DONE_YET


def _bad_result(resource: object, request: Request, body: object) -> None:
    name = f"{type(resource).__module__}.{type(resource).__qualname__}"
    detail = f"Request did not return bytes: {name}.render returned {type(body).__name__}"
    # As in Twisted, this page names the resource even without --display-tracebacks: it is
    # a programming error the developer needs to see, and it reveals no data.
    page = error_html(500, "Request did not return bytes", f"{detail} (expected bytes or "
                      "NOT_DONE_YET).")
    request.site.processingFailed(request, TypeError(f"{detail} {body!r:.200}"), page=page)


def _unsupported(request: Request, allowed: list[bytes]) -> bytes:
    method = request.method
    if method in _KNOWN_METHODS:
        request.setResponseCode(405)
        request.setHeader(b"allow", b", ".join(allowed))
        names = ", ".join(m.decode("ascii", "replace") for m in allowed)
        plural = "s" if len(allowed) != 1 else ""
        detail = (
            f"Your browser approached me (at {request.uri.decode('latin-1')}) with the method "
            f'"{method.decode("latin-1")}".  I only allow the method{plural} {names} here.'
        )
        brief = "Method Not Allowed"
    else:
        request.setResponseCode(501)
        detail = f"I don't know how to treat a {method.decode('latin-1')} request."
        brief = "Huh?"
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    return error_html(request.code, brief, detail)


def traceback_html(exc: BaseException) -> bytes:
    """The 500 page shown with --display-tracebacks: the escaped traceback."""
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return (
        "<html><head><title>web.Server Traceback (most recent call last)</title></head>"
        f"<body><b>web.Server Traceback (most recent call last):</b>\n\n<pre>{html.escape(text)}"
        "</pre></body></html>"
    ).encode()
