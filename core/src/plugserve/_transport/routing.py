"""Where a channel hands its requests: a Site, or, for a plain `HTTPFactory`, each request's own
`process()`.

`Routing` is all the transport knows of the object model: the three documented methods of
`plugserve.server.Site` (`process_request`, `start_request`, `render_resource`), its
`requestFactory`, and the `extraHeaders` and `serverName` every response carries.  A Site is a
Routing.  `FactoryRouting` is the Routing of a factory that is not a Site, Twisted's way of
writing a server below the resource tree (a forward proxy is one): the request, once its body
is complete, gets `requestReceived(method, uri, version)`, which calls its `process()`.  A
request class that sets `stream_request_body = True` is processed as soon as its head arrives
instead, with `content` a stream read while the body arrives, like a resource that sets it: so
a forward proxy relays a 1 GB upload without holding it.
"""

from __future__ import annotations

import logging
from typing import Any, Final, Protocol

__all__ = ["PROCESS", "FactoryRouting", "Routing", "is_process", "process_marker"]

_log = logging.getLogger("plugserve")
#: What `start_request` returns for a request that serves itself (its class overrides
#: Twisted's `process()`): `render_resource(request, PROCESS)` then calls `requestReceived`.
PROCESS: Final = object()


class _StreamingProcess:
    """The marker for a request class that reads its own body as it arrives."""

    stream_request_body = True


PROCESS_STREAMING: Final = _StreamingProcess()


def process_marker(request: Any) -> Any:
    """The marker `start_request` returns for a request that processes itself: the streaming
    one when its class sets `stream_request_body`."""
    return PROCESS_STREAMING if getattr(type(request), "stream_request_body", False) else PROCESS


def is_process(resource: Any) -> bool:
    """Whether `resource` is one of the markers, not a resource to render."""
    return resource is PROCESS or resource is PROCESS_STREAMING


class Routing(Protocol):
    """What a channel calls, per request; see docs/resources.md for the Site's contract."""

    requestFactory: Any
    extraHeaders: list[tuple[bytes, bytes]]
    serverName: bytes

    def process_request(self, request: Any) -> None: ...
    def start_request(self, request: Any) -> Any: ...
    def render_resource(
        self, request: Any, resource: Any, *, body_complete: bool = True
    ) -> None: ...


class FactoryRouting:
    """The Routing of a non-Site factory: every request is processed by itself."""

    requestFactory: Any = None
    serverName: bytes = b"plugserve"

    def __init__(self, factory: Any, server_name: bytes) -> None:
        self.factory = factory
        self.serverName = server_name
        self.extraHeaders: list[tuple[bytes, bytes]] = []

    def process_request(self, request: Any) -> None:
        """A complete request: let it process itself."""
        self.render_resource(request, PROCESS)

    def start_request(self, request: Any) -> Any:
        """The head arrived: nothing to traverse; the request is processed once its body is
        complete, or now if its class streams the body."""
        return process_marker(request)

    def render_resource(self, request: Any, resource: Any, *, body_complete: bool = True) -> None:
        """Call `request.requestReceived(...)`; an error becomes a 500 (or a dropped
        connection once the response started), as a Site's would."""
        try:
            request.requestReceived(request.method, request.uri, request.clientproto)
        except Exception as exc:  # noqa: BLE001 - one place per request catches its errors
            _log.error("Error while processing %s %s", request.method.decode("latin-1"),
                       request.uri.decode("latin-1"), exc_info=exc)
            if request.finished or request._disconnected:
                return
            if request.startedWriting:
                request.channel.abort()
                return
            request.setResponseCode(500)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            request._finish_with(b"Processing Failed\n")
