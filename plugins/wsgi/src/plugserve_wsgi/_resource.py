"""`WSGIResource`: Twisted Web's resource that serves a WSGI application from a thread pool."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, ClassVar

from plugserve.server import NOT_DONE_YET

from ._handoff import Handoff
from ._response import WSGIApplication, WSGIResponse
from ._threads import WorkerPool, default_executor

if TYPE_CHECKING:
    from plugserve.resource import IResource
    from plugserve.server import Request

__all__ = ["WSGIResource"]


class WSGIResource:
    """A leaf that runs `application` (PEP 3333) in `executor` for every request below it.

    `WSGIResource(loop, executor, application)` keeps Twisted's `(reactor, threadpool,
    application)` order.  `loop` may be None, or `plugserve.reactor` as in ported code: the
    loop serving the request is used.  `executor` may be None: a pool shared by every such
    resource, of min(32, CPUs + 4) threads.  Mounted with `putChild(b"app", ...)`, the
    application sees `SCRIPT_NAME="/app"` and the rest of the path as `PATH_INFO`."""

    isLeaf = True
    #: Render as soon as the request head arrives; the application reads the body as it comes.
    stream_request_body: ClassVar[bool] = True
    server: Any = None

    def __init__(self, loop: object, executor: Executor | None,
                 application: WSGIApplication) -> None:
        if not callable(application):
            raise TypeError(f"WSGIResource needs a callable application, not {application!r}")
        self._loop = loop if isinstance(loop, asyncio.AbstractEventLoop) else None
        self._executor = executor
        self._handoff: Handoff | None = None
        self.application = application

    @property
    def executor(self) -> Executor:
        """The executor the application runs in (the shared default if none was given)."""
        if self._executor is None:
            self._executor = default_executor()
        return self._executor

    def render(self, request: Request) -> int:
        """Start the application in the executor; the response is written as it produces."""
        loop = asyncio.get_running_loop()
        handoff = self._handoff
        if handoff is None or handoff.loop is not loop:
            if self._loop is not None and self._loop is not loop:
                raise RuntimeError("WSGIResource was given a loop other than the one serving it")
            handoff = self._handoff = Handoff(loop)
        response = WSGIResponse(request, self.application, handoff)
        # A streamed body: the application's thread starts once the body is there or
        # flowing, so a client that trickles it holds no thread (the core cuts it off), or
        # at once when the client waits for the 100 Continue that the first read sends.
        when_ready = getattr(request.content, "when_ready", None)
        if when_ready is None:
            self._dispatch(response)
        else:
            when_ready(lambda: self._dispatch(response))
        return NOT_DONE_YET

    def _dispatch(self, response: WSGIResponse) -> None:
        if response.gone:
            return
        executor = self.executor
        if type(executor) is WorkerPool:
            executor.dispatch(response.run)  # run reports its own end: no Future needed
        else:
            executor.submit(response.run)

    def getChildWithDefault(self, name: bytes, request: Request) -> IResource:
        """Never called (this is a leaf); as in Twisted, it refuses."""
        raise RuntimeError("Cannot get IResource children from WSGIResource")

    def putChild(self, path: bytes | str, child: IResource) -> None:
        """The application owns every path below this resource, so children are refused."""
        raise RuntimeError("Cannot put IResource children under WSGIResource")

    def __repr__(self) -> str:
        return f"<WSGIResource {self.application!r}>"
