# Theory of operation
#
# A WSGIResponse is one call of a WSGI application.  It is created on the event loop (which
# builds the environ and watches for the client going away), then `run` is called in a worker
# thread.  The thread calls the application, then iterates what it returned; each non-empty
# piece is handed to the loop, which writes it (the first one after applying the status and
# headers that start_response recorded).  Nothing else touches the request from the thread.
#
# Back-pressure: pieces are handed over without waiting, but after every WINDOW_BYTES the thread
# waits, on the loop, until the client has read enough (`Request.wait_writable`).  A slow client
# therefore blocks the application's thread, never the loop, and at most the window plus the
# transport's buffer is held in memory, however much the application produces.
#
# The end: when the application declared a Content-Length and produced all of it, the last piece
# and the end of the response go to the loop together and iteration stops (PEP 3333: do not ask
# for more than was declared).  Otherwise the iterable's `close()` is called first and the
# response is finished after it, so an error in close() still becomes a 500 (or a dropped
# connection).  close() is called in every case: normal end, error, and client gone.
#
# Errors go to the Site's one place for them (`processingFailed`): a 500 if nothing was sent, the
# connection dropped otherwise.  A small list or tuple (the usual `[b"Hello"]`) is sent whole in
# one step, with a Content-Length, since iterating it runs no application code.
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from plugserve.error import ConnectionLost, RequestBodyError

from ._environ import ErrorStream, build_environ
from ._files import FileWrapper, see_through
from ._handoff import Handoff
from ._head import Head, parse_head

if TYPE_CHECKING:
    from plugserve.server import Request

__all__ = ["WINDOW_BYTES", "WSGIApplication", "WSGIResponse"]

#: Bytes handed to the loop before the thread waits for the client to read.
WINDOW_BYTES: Final = 64 * 1024
#: Largest list/tuple response sent whole, in one step.
_WHOLE_BYTES: Final = 1024 * 1024

_log = logging.getLogger("plugserve.wsgi")
#: A WSGI application: `application(environ, start_response) -> iterable of bytes`.
WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WSGIResponse:
    """One call of a WSGI application for one request (create on the loop, `run` in a thread)."""

    def __init__(self, request: Request, application: WSGIApplication, handoff: Handoff) -> None:
        self.request = request
        self.application = application
        self.errors = ErrorStream()
        self.environ = build_environ(request, self.errors)
        self._handoff = handoff
        self._head_request = request.method == b"HEAD"
        self._head: Head | None = None
        self._head_sent = False  # handed to the loop: start_response may no longer change it
        self._end_sent = False  # the end of the response was handed to the loop
        self._sent = 0
        self._unsynced = 0
        #: Set on the loop when the client went away or the response failed: stop producing.
        self.gone = False
        _ = request.notifyFinish().addErrback(self._lost)

    def _lost(self, reason: BaseException) -> None:
        self.gone = True

    # -- the worker thread ------------------------------------------------------------------------

    def run(self) -> None:
        """Call the application and send what it returns (in a worker thread)."""
        try:
            self._run()
        except BaseException as exc:  # SystemExit in a view: still answer, then let it go on
            self._fail(exc)
            raise
        finally:
            self.errors.flush()

    def _run(self) -> None:
        try:
            body = self.application(self.environ, self.start_response)
        except Exception as exc:  # noqa: BLE001 - the application's errors become a 500
            self._fail(exc)
            return
        error: BaseException | None = None
        try:
            self._send(body)
        except Exception as exc:  # noqa: BLE001 - reported after close(), below
            error = exc
        finally:
            close_error = _close(body)
        if close_error is not None:
            if error is None:
                error = close_error
            else:
                _log.error("close() of the WSGI response raised too", exc_info=close_error)
        if error is None and self._head is None and not self.gone:
            error = RuntimeError("the WSGI application returned without calling start_response")
        if error is not None:
            self._fail(error)
        elif not self._end_sent and not self.gone:
            self._end_sent = True
            head = None if self._head_sent else self._head
            self._head_sent = True
            self._handoff.put(partial(self._deliver, head, b"", True))

    def _send(self, body: Iterable[bytes]) -> None:
        inner = see_through(body)
        if type(inner) is FileWrapper and inner.fileno() is not None:
            self._send_file(inner)
            return
        if type(inner) in (list, tuple) and self._send_whole(inner):
            return
        for chunk in body:
            if self.gone:
                return
            self._write(chunk)
            if self._end_sent:
                return  # all of the declared Content-Length was produced

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        """PEP 3333's start_response: record the status and headers; return `write`."""
        if exc_info is not None:
            try:
                if self._head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self._head is not None:
            raise RuntimeError("start_response called a second time without exc_info")
        self._head = parse_head(status, headers)
        return self.write

    def write(self, data: bytes) -> None:
        """PEP 3333's write callable: send `data` now (waits while the client is slow)."""
        if self.gone:
            raise ConnectionLost("the client went away")
        self._write(data)

    def _write(self, data: bytes) -> None:
        if type(data) is not bytes:
            raise TypeError(f"a WSGI response body is bytes, not {type(data).__name__}")
        head = self._head
        if head is None:
            raise RuntimeError("the WSGI application sent body bytes before start_response")
        if not data:
            return
        if self._end_sent:
            raise RuntimeError("body bytes after the whole Content-Length was sent")
        self._sent += len(data)
        length = head.length
        if length is not None and self._sent > length:
            raise ValueError(f"the response is longer than its Content-Length ({length})")
        last = self._end_sent = self._sent == length
        first = not self._head_sent
        self._head_sent = True
        self._handoff.put(partial(self._deliver, head if first else None, data, last))
        self._unsynced += len(data)
        if self._unsynced >= WINDOW_BYTES and not last:
            self._unsynced = 0
            self._handoff.wait(self._drained())

    def _send_whole(self, body: list[bytes] | tuple[bytes, ...]) -> bool:
        """Send a list or tuple of bytes in one step; False if it is too large or odd."""
        head = self._head
        if head is None or self._head_sent or any(type(c) is not bytes for c in body):
            return False
        data = b"".join(body)
        if len(data) > _WHOLE_BYTES:
            return False
        if head.length is not None and len(data) > head.length:
            raise ValueError(f"the response is longer than its Content-Length ({head.length})")
        # The length a GET would get; an application may answer HEAD with an empty body, and
        # then its length is unknown.
        if head.length is None and head.may_have_body and (data or not self._head_request):
            head = head.with_length(len(data))
        self._head_sent = self._end_sent = True
        self._handoff.put(partial(self._deliver, head, data, True))
        return True

    def _send_file(self, wrapper: FileWrapper) -> None:
        """Send a wsgi.file_wrapper's file from its position with Request.send_file."""
        head = self._head
        if head is None:
            raise RuntimeError("the WSGI application returned a file before start_response")
        file = wrapper.filelike
        offset = file.tell()
        count = head.length
        if count is None:
            count = max(0, os.fstat(file.fileno()).st_size - offset)
            if not self._head_sent and head.may_have_body:
                head = head.with_length(count)
        first = not self._head_sent
        self._head_sent = True
        self._handoff.wait(self._send_file_on_loop(head if first else None, file, offset, count))

    def _fail(self, exc: BaseException) -> None:
        try:
            self._handoff.put(partial(self._fail_on_loop, exc))
        except ConnectionLost:  # the server has stopped: nobody to answer
            if isinstance(exc, ConnectionLost | RequestBodyError):
                _log.info("WSGI application stopped with the server: %s", exc)
            else:
                _log.error("WSGI application error after the server stopped", exc_info=exc)

    # -- the loop ---------------------------------------------------------------------------------

    def _deliver(self, head: Head | None, data: bytes, end: bool) -> None:
        request = self.request
        if self.gone or request.finished:
            return
        try:
            if head is not None:
                self._apply(head)
            if data:
                request.write(data)
            if end:
                request.finish()
        except Exception as exc:  # noqa: BLE001 - the one place: processingFailed
            self._fail_on_loop(exc)

    def _apply(self, head: Head) -> None:
        request = self.request
        request.setResponseCode(head.code, head.reason)
        request.defaultContentType = None
        headers = request.responseHeaders
        for name, value in head.headers:
            headers.addRawHeader(name, value)

    async def _drained(self) -> None:
        if self.gone:
            raise ConnectionLost("the client went away")
        await self.request.wait_writable()

    async def _send_file_on_loop(self, head: Head | None, file: Any, offset: int,
                                 count: int) -> None:
        if self.gone:
            raise ConnectionLost("the client went away")
        if head is not None:
            self._apply(head)
        await self.request.send_file(file, offset, count)

    def _fail_on_loop(self, exc: BaseException) -> None:
        request = self.request
        if request.finished:
            _log.error("WSGI application error after its response was complete", exc_info=exc)
            return
        if self.gone or isinstance(exc, RequestBodyError):
            # The client left, or its body broke off; the core answered (408, 413, 400) or
            # closed the connection already, so there is no one to send a 500 to.
            self.gone = True
            _log.info("%s %s: not answered: %s", request.method.decode("latin-1"),
                      request.uri.decode("latin-1"), exc)
            return
        self.gone = True
        request.site.processingFailed(request, exc)


def _close(body: object) -> BaseException | None:
    """Call the iterable's close(), if it has one; return what it raised."""
    close = getattr(body, "close", None)
    if close is None:
        return None
    try:
        close()
    except Exception as exc:  # noqa: BLE001 - reported by the caller as the app's error
        return exc
    return None
