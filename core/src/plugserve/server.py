"""`Site`, the glue between connections and a resource tree, and Twisted's server names.

A Site is handed every complete request by the connection: it applies the rewrite rules, runs
traversal from its root, renders the resource reached, and is the one place that catches a
request's errors (500 if nothing was sent yet, else the connection is dropped).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, cast

from ._factory import HTTPChannel, HTTPFactory
from ._forms import FormError, parse_form_body
from ._log import LogFormatter
from ._reactor import reactor as _default_reactor
from ._render import NOT_DONE_YET, render_request, traceback_html
from ._request import Request
from ._transport.routing import is_process, process_marker
from ._version import __version__
from .encoders import GzipEncoderFactory
from .http_headers import Headers
from .resource import IResource, getChildForRequest
from .session import InMemorySessionStore, Session, SessionStore, new_uid
from .util import redirectTo

if TYPE_CHECKING:
    from .encoders import EncoderFactory

__all__ = ["NOT_DONE_YET", "GzipEncoderFactory", "Request", "Session", "Site", "SiteHooks"]

_log = logging.getLogger("plugserve")
_FAILED_PAGE: Final = (
    b"<html><head><title>Processing Failed</title></head><body><b>Processing Failed</b>"
    b"</body></html>"
)


class SiteHooks(Protocol):
    """What the server running a Site lends it from the plugins: the one per-request hook the
    Site fires itself, and the session store.  Defined here, at the Site's own level, so that
    the object model needs nothing from the layer that loads plugins (which provides it)."""

    #: `plugserve_request_started(request=...)`, or None when no plugin implements it.
    request_started: Callable[..., None] | None

    def session_store(self, config: Any) -> SessionStore | None:
        """The store the plugins chose for the run configured by `config`, or None."""
        ...


class Site(HTTPFactory):
    """Serves one resource tree; give it to `plugserve.run`, `plugserve.serve` or `--config`.

    As in Twisted, a Site is an `HTTPFactory`: its channels hand each request to the tree."""

    displayTracebacks: bool = False
    sessionFactory: ClassVar[type[Session]] = Session
    #: Idle seconds before a session expires (`--session-timeout`); Twisted's is per Session.
    sessionTimeout: float = Session.sessionTimeout
    requestFactory: type[Request] = Request
    serverName: bytes = b"plugserve/" + __version__.encode("ascii")

    def __init__(
        self,
        resource: IResource,
        requestFactory: type[Request] | None = None,
        logPath: str | None = None,
        timeout: float = 60,
        logFormatter: LogFormatter | None = None,
        reactor: Any = None,
        *,
        parsePOSTFormSubmission: bool = True,
    ) -> None:
        self.resource = resource
        if requestFactory is not None:
            self.requestFactory = requestFactory
        self.logPath = logPath
        self.timeout = timeout
        #: `(timestamp, request) -> line` for the access log (`plugserve.http`'s
        #: `combinedLogFormatter`, `proxiedLogFormatter` or your own); None: combined.
        self.logFormatter: LogFormatter | None = logFormatter
        self.parsePOSTFormSubmission = parsePOSTFormSubmission
        #: The clock sessions use (`seconds()`, `callLater()`), as Twisted's `Site.reactor`:
        #: plugserve's reactor unless one is given (a test's `plugserve.testing.Clock`).
        self.reactor: Any = reactor if reactor is not None else _default_reactor
        self.counter = 0
        #: (lower-case name, value) added to every response (`--add-header`).
        self.extraHeaders: list[tuple[bytes, bytes]] = []
        #: Callables applied to each request before traversal (`plugserve_rewrite_rules`).
        self.rewriteRules: list[Callable[[Request], None]] = []
        #: Encoders applied to every response of the site (`--encode`).
        self.encoders: list[EncoderFactory] = []
        #: The plugins of the run serving this site (set when serving starts).
        self.hooks: SiteHooks | None = None
        #: The run's `plugserve.config.Config` (set when serving starts), for plugins to read;
        #: the Site only hands it to the session-store hook.
        self.config: Any = None
        self._session_store: SessionStore | None = None

    # -- sessions --------------------------------------------------------------------------------

    @property
    def session_store(self) -> SessionStore:
        """Where this site keeps sessions (from the session-store hook, else in memory)."""
        store = self._session_store
        if store is None:
            hooks = self.hooks
            store = hooks.session_store(self.config) if hooks is not None else None
            if store is None:  # not `or`: an empty store is falsy
                store = InMemorySessionStore()
            self._session_store = store
        return store

    @property
    def sessions(self) -> SessionStore:
        """Twisted's name for the session mapping."""
        return self.session_store

    def makeSession(self) -> Session:
        """Create and keep a new session with an unguessable id."""
        self.counter += 1
        session = self.sessionFactory(self, new_uid())
        if self.sessionTimeout != Session.sessionTimeout:
            session.set_timeout(self.sessionTimeout)
        self.session_store.add(session)
        return session

    def getSession(self, uid: bytes) -> Session | None:
        """The live session with this id, or None (an expired one is forgotten)."""
        session = self.session_store.get(uid)
        if session is not None and session.is_expired():
            session.expire()
            return None
        return session

    # -- requests --------------------------------------------------------------------------------

    def getResourceFor(self, request: Request) -> IResource:
        """Apply the rewrite rules, then traverse from the root."""
        request.site = self
        request.sitepath = request.prepath[:]
        for rule in self.rewriteRules:
            rule(request)
        return getChildForRequest(self.resource, request)

    # The three methods the transport calls (DESIGN.md §3: it reaches the object model only
    # through these).  A request without a body is `process_request`ed when its head arrives;
    # one with a body is `start_request`ed then, and `render_resource`d when the body is
    # complete, or at once for a resource that reads the body as it arrives.

    def process_request(self, request: Request) -> None:
        """Serve a complete request: `start_request`, then `render_resource`."""
        resource = self.start_request(request)
        if resource is not None:
            self.render_resource(request, resource)

    def start_request(self, request: Request) -> IResource | None:
        """Fire `plugserve_request_started`, then traverse to the request's resource.

        Returns None when the request was answered already (`OPTIONS *`, or an error, which
        becomes a 500).  This is one of the two places that catch a request's errors."""
        try:
            hooks = self.hooks
            if hooks is not None and hooks.request_started is not None:
                hooks.request_started(request=request)
            if request.path == b"*":  # OPTIONS * (the protocol layer refuses other methods)
                request.setHeader(b"content-length", b"0")
                request._finish_with(b"")
                return None
            if type(request).process is not Request.process:
                # Twisted code that overrides process() serves the request itself.
                return cast("IResource", process_marker(request))
            return self.getResourceFor(request)
        except Exception as exc:  # noqa: BLE001 - one place per request catches its errors
            self.processingFailed(request, exc)
            return None

    def render_resource(
        self, request: Request, resource: IResource, *, body_complete: bool = True
    ) -> None:
        """Render `resource` for `request`: the other place that catches a request's errors.

        With `body_complete` False the body is still arriving (a streaming resource, or one
        that answers without it), so a form body is not parsed into `request.args`.  For a
        request whose class overrides `process()`, `start_request` returned a marker and this
        calls `request.requestReceived(...)`, whose `process()` may end in the default one:
        traversal and this method again."""
        try:
            if is_process(resource):
                request.requestReceived(request.method, request.uri, request.clientproto)
                return
            if (
                body_complete and request.method == b"POST" and self.parsePOSTFormSubmission
            ):
                content_type = request.requestHeaders._last(b"content-type")
                if content_type:
                    try:
                        parse_form_body(content_type, request.content, request.args)
                    except FormError as exc:
                        _log.info("bad form body from %s: %s", request.getClientIP(), exc)
                        request.setResponseCode(400)
                        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
                        request._finish_with(b"Bad Request: malformed form body\n")
                        return
            if self.encoders:
                from .encoders import choose_encoder

                request._encoder = choose_encoder(self.encoders, request)
            render_request(resource, request)
        except Exception as exc:  # noqa: BLE001 - one place per request catches its errors
            self.processingFailed(request, exc)

    def processingFailed(
        self, request: Request, exc: BaseException, *, page: bytes | None = None
    ) -> None:
        """Log the error; answer 500 (with `page`, else the generic page) if nothing was sent
        yet, else drop the connection."""
        _log.error(
            "Error while rendering %s %s", request.method.decode("latin-1"),
            request.uri.decode("latin-1"), exc_info=exc,
        )
        if request._disconnected or request.finished:
            return
        if request.startedWriting:
            request.channel.abort()
            return
        request.setResponseCode(500)
        request.responseHeaders = Headers()
        request.cookies = []
        request._encoder = None
        request._vary_accept_encoding = False
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        body = traceback_html(exc) if self.displayTracebacks else page or _FAILED_PAGE
        request._finish_with(body)

    def buildProtocol(self, addr: Any) -> HTTPChannel:
        """A channel whose requests this Site serves (the server makes its channels itself
        unless a subclass overrides this)."""
        channel = HTTPChannel()
        channel.requestFactory = self.requestFactory
        return channel

    def render(self, request: Request) -> bytes:
        """A Site used as a resource redirects to itself with a trailing slash (as Twisted)."""
        return redirectTo(request.prePathURL() + b"/", request)

    # Twisted names kept for code that builds Sites by hand.
    isLeaf = False

    def getChildWithDefault(self, name: bytes, request: Request) -> IResource:
        """Traversal into a Site continues at its root resource."""
        return self.resource.getChildWithDefault(name, request)

    def putChild(self, path: bytes | str, child: IResource) -> None:
        """Add a child to the root resource."""
        self.resource.putChild(path, child)

    def add_header(self, name: bytes, value: bytes) -> None:
        """Add a header to every response (what `--add-header` does)."""
        self.extraHeaders.append((name.lower(), value))

    def use_encoders(self, factories: Sequence[EncoderFactory]) -> None:
        """Encode every response of the site with these encoders (what `--encode` does)."""
        self.encoders = list(factories)
