"""A small Deferred: what `Request.notifyFinish()` returns.

It keeps Twisted's callback-chain API (`addCallback`, `addErrback`, `addBoth`) so ported code
runs unchanged, and it is awaitable so asyncio code can simply `await request.notifyFinish()`.
Errbacks receive the exception itself (Twisted passes a Failure wrapping it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from typing import Any

__all__ = ["Deferred"]

_Callback = Callable[..., Any]
_Link = tuple[_Callback | None, _Callback | None, tuple[Any, ...], dict[str, Any]]


class Deferred:
    """A result that arrives later, delivered through a chain of callbacks or by `await`."""

    def __init__(self) -> None:
        self.called = False
        self.result: Any = None
        self._failed = False
        self._chain: list[_Link] = []

    def addCallbacks(
        self,
        callback: _Callback | None,
        errback: _Callback | None = None,
        callbackArgs: tuple[Any, ...] = (),
        callbackKeywords: dict[str, Any] | None = None,
        errbackArgs: tuple[Any, ...] = (),
        errbackKeywords: dict[str, Any] | None = None,
    ) -> Deferred:
        """Add a callback and an errback at the same level of the chain."""
        if callback is not None:
            self._chain.append((callback, None, callbackArgs, callbackKeywords or {}))
        if errback is not None:
            self._chain.append((None, errback, errbackArgs, errbackKeywords or {}))
        if self.called:
            self._run()
        return self

    def addCallback(self, callback: _Callback, *args: Any, **kwargs: Any) -> Deferred:
        """Call `callback(result, *args, **kwargs)` on success."""
        self._chain.append((callback, None, args, kwargs))
        if self.called:
            self._run()
        return self

    def addErrback(self, errback: _Callback, *args: Any, **kwargs: Any) -> Deferred:
        """Call `errback(exception, *args, **kwargs)` on failure."""
        self._chain.append((None, errback, args, kwargs))
        if self.called:
            self._run()
        return self

    def addBoth(self, callback: _Callback, *args: Any, **kwargs: Any) -> Deferred:
        """Call `callback` with the result or the exception, whichever comes."""
        self._chain.append((callback, callback, args, kwargs))
        if self.called:
            self._run()
        return self

    def callback(self, result: Any = None) -> None:
        """Deliver a result."""
        self._fire(result, failed=False)

    def errback(self, exception: BaseException) -> None:
        """Deliver a failure."""
        self._fire(exception, failed=True)

    def _fire(self, result: Any, *, failed: bool) -> None:
        if self.called:
            raise RuntimeError("Deferred already called")
        self.called = True
        self.result = result
        self._failed = failed
        self._run()

    def _run(self) -> None:
        while self._chain:
            callback, errback, args, kwargs = self._chain.pop(0)
            handler = errback if self._failed else callback
            if handler is None:
                continue
            try:
                self.result = handler(self.result, *args, **kwargs)
                self._failed = isinstance(self.result, BaseException)
            except Exception as exc:  # noqa: BLE001 - a failing callback moves to the errbacks
                self.result = exc
                self._failed = True

    def __await__(self) -> Generator[Any, None, Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def deliver(result: Any) -> None:
            if not future.done():
                if self._failed:
                    future.set_exception(result)
                else:
                    future.set_result(result)

        _ = self.addBoth(_passthrough(deliver))
        return (yield from future.__await__())


def _passthrough(observer: Callable[[Any], None]) -> _Callback:
    def call(result: Any) -> Any:
        observer(result)
        return result

    return call
