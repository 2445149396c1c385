"""The request side of a connection: a request head and its body, from events to a Request.

`BodyIntake` is a part of HTTPChannel (channel.py), kept apart because it has one job: it
builds the Request from a head, traverses it when a body follows (so that the resource can read
the body as it arrives, or answer without it), collects or streams the body, and keeps the body
deadlines: the body timeout between two pieces and the minimum rate (--min-body-rate).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Final, cast

from ..http_headers import Headers
from .body import BodyStream, new_body

if TYPE_CHECKING:
    import asyncio

    from .._protocol.h11_engine import HTTPConnection, RequestHead
    from .._request import Channel, Request
    from .flow import FlowControl
    from .listener import ServerState
    from .routing import Routing

__all__ = ["BODY", "BUSY", "BodyIntake"]

BODY: Final = 1
BUSY: Final = 2


class BodyIntake:
    """The reading half of HTTPChannel (see the module docstring)."""

    transport: asyncio.Transport
    state: ServerState
    site: Routing
    requestFactory: Any
    http: HTTPConnection
    flow: FlowControl
    request: Request | None
    phase: int
    deadline: float
    _closed: bool
    _ended: bool
    _buffered_while_busy: int
    _stream: BodyStream | None
    _resource: Any
    _rate_deadline: float
    _linger_until: float
    #: A streamed body's client waits for the 100 Continue its resource's first read sends.
    _awaiting_continue: bool = False

    if TYPE_CHECKING:  # HTTPChannel's

        def _next_cycle(self) -> None: ...

    def _on_head(self, head: RequestHead) -> None:
        state = self.state
        headers = Headers._wrap(head.headers)
        has_body = head.chunked or bool(head.content_length)
        content = new_body(head.content_length, head.chunked) if has_body else io.BytesIO()
        request = self.requestFactory(
            cast("Channel", self), head.method, head.target, b"HTTP/" + head.http_version,
            headers, content,
        )
        request.site = self.site
        request._child_hook = state.child_hook
        self.request = request
        self._ended = False
        if not has_body:
            self.phase = BUSY
            self.deadline = 0.0
            return
        self.phase = BODY
        now = state.loop.time()
        config = state.config
        rated = config.min_body_rate_bytes_s > 0
        self._rate_deadline = now + config.min_body_rate_grace_s if rated else 0.0
        self._body_deadline(now)
        # A request with a body is traversed now, so that its resource can choose to read the
        # body as it arrives, or answer without it (an error page: the body is then dropped,
        # within the linger bounds); it is rendered when the body is complete otherwise.
        resource = self.site.start_request(request)
        if resource is None or request.finished or self.request is not request:
            return
        if getattr(resource, "renders_before_body", False):
            self.site.render_resource(request, resource, body_complete=False)
            return
        if getattr(resource, "stream_request_body", False):
            # The client that expects 100-continue hears it at the resource's first read (or
            # when the resource sends it), so it may answer 401, 413 or 417 first, or relay
            # the expectation; meanwhile the client is not late, so no body clock runs.
            waiting = head.expect_continue
            stream = BodyStream(state.loop, self._stream_drained, config.stream_window_bytes,
                                self._send_continue if waiting else None)
            if waiting:
                self._awaiting_continue = True
                self._rate_deadline = self.deadline = 0.0
            content.close()
            request.content = stream
            self._stream = stream
            self.site.render_resource(request, resource, body_complete=False)
        else:
            if head.expect_continue:  # the body will be read for it (RFC 9110 §10.1.1)
                self.transport.write(self.http.send_continue())
            self._resource = resource

    def _send_continue(self) -> None:
        """The streaming resource began to read: tell the waiting client to send the body,
        unless a response has started (h11 then sends nothing), and start the body clock."""
        if self._closed or self.phase != BODY or self.request is None:
            return
        self.transport.write(self.http.send_continue())
        self._start_body_clock()

    def _start_body_clock(self) -> None:
        """The body is due from now on: its timeout and minimum rate start."""
        if self._awaiting_continue:
            self._awaiting_continue = False
            now = self.state.loop.time()
            config = self.state.config
            if config.min_body_rate_bytes_s > 0:
                self._rate_deadline = now + config.min_body_rate_grace_s
            self._body_deadline(now)

    def _on_body_chunk(self, data: bytes) -> None:
        stream = self._stream
        if self._awaiting_continue:  # the client sends without waiting for 100 Continue
            self._start_body_clock()
        now = self.state.loop.time()
        if self._rate_deadline:
            # Each byte buys 1/rate seconds, and a fast start at most the grace period ahead.
            config = self.state.config
            self._rate_deadline = min(
                self._rate_deadline + len(data) / config.min_body_rate_bytes_s,
                now + config.min_body_rate_grace_s,
            )
        if stream is not None:
            if stream.feed(data):
                self.flow.pause_reading()  # the reader is behind: no body timeout meanwhile
                self.deadline = 0.0
                return
        elif self.request is not None:
            self.request.content.write(data)
        self._body_deadline(now)

    def _body_deadline(self, now: float) -> None:
        """The next byte of the body is due by the body timeout, and by the minimum rate."""
        deadline = now + self.state.config.body_timeout_s
        if self.request is None:  # answered early: dropping the rest, for a bounded time
            deadline = min(deadline, self._linger_until)
        elif self._rate_deadline and self._rate_deadline < deadline:
            deadline = self._rate_deadline
        self.deadline = deadline

    def _stream_drained(self) -> None:
        """The reader of a streamed body caught up: read from the client again."""
        if not self._closed and self.phase == BODY and self._stream is not None:
            self.flow.resume_reading()
            now = self.state.loop.time()
            if self._rate_deadline:  # the reader was slow, not the client: a fresh grace period
                self._rate_deadline = now + self.state.config.min_body_rate_grace_s
            self._body_deadline(now)

    def _on_body_end(self) -> None:
        request = self.request
        resource = self._resource
        stream = self._stream
        self._stream = self._resource = None
        self._awaiting_continue = False
        self.phase = BUSY
        self.deadline = 0.0
        self._buffered_while_busy = 0
        if request is None:  # answered before its body ended: the body was read and dropped
            self._next_cycle()
        elif stream is not None:
            stream.end()
        elif resource is not None:
            if request.content.tell():
                request.content.seek(0)
            self.site.render_resource(request, resource)
        else:
            self.site.process_request(request)
