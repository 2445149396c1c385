"""Sessions: `request.getSession()` finds or creates one per browser through a cookie.

The store is chosen by the `plugserve_session_store` hook; the default keeps sessions in memory
in this process.  Unlike Twisted, a session is touched each time its cookie brings it back, so it
expires after `sessionTimeout` seconds of inactivity rather than that long after creation, and the
cookie is HttpOnly and SameSite=Lax (and Secure under TLS).

Time comes from a clock with Twisted's IReactorTime shape, `seconds()` and `callLater()`: the
`reactor` given to the Session, else its Site's `reactor` (plugserve's, on the running asyncio
loop), so that a test can hand in `plugserve.testing.Clock` and advance it instead of sleeping.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._reactor import reactor as _default_reactor

if TYPE_CHECKING:
    from ._request import Request
    from .server import Site

__all__ = ["InMemorySessionStore", "Session", "SessionStore", "get_session"]


class Session:
    """Per-browser state kept between requests; `sessionTimeout` seconds of idleness expire it."""

    sessionTimeout: float = 900

    def __init__(self, site: Site, uid: bytes, reactor: Any = None) -> None:
        if reactor is None:
            reactor = getattr(site, "reactor", None) or _default_reactor
        #: The clock: `seconds()` and `callLater(delay, f)` (Twisted's IReactorTime).
        self._reactor: Any = reactor
        self.site = site
        self.uid = uid
        self.expireCallbacks: list[Callable[[], Any]] = []
        self.lastModified = self._seconds()
        self.expired = False
        self._components: dict[Any, Any] = {}
        self._timer: Any = None  # what callLater returned: it has cancel()
        self._schedule(self.sessionTimeout)

    def _seconds(self) -> float:
        """The clock's time; the monotonic clock (the loop's own) when no loop runs."""
        try:
            return float(self._reactor.seconds())
        except RuntimeError:  # plugserve's reactor, outside a running loop
            return time.monotonic()

    def set_timeout(self, seconds: float) -> None:
        """Change this session's idle timeout (the Site's `--session-timeout`)."""
        self.sessionTimeout = seconds
        if self._timer is not None:
            self._timer.cancel()
        self._schedule(seconds)

    def _schedule(self, delay: float) -> None:
        try:
            self._timer = self._reactor.callLater(delay, self._check_expiry)
        except RuntimeError:  # no running loop: is_expired() still says when it is over
            self._timer = None

    def _check_expiry(self) -> None:
        remaining = self.lastModified + self.sessionTimeout - self._seconds()
        if remaining > 0:
            self._schedule(remaining)
        else:
            self.expire()

    def touch(self) -> None:
        """Mark the session as used now."""
        self.lastModified = self._seconds()

    def is_expired(self) -> bool:
        """True once the session was expired or has been idle longer than its timeout."""
        return self.expired or self._seconds() - self.lastModified > self.sessionTimeout

    def notifyOnExpire(self, callback: Callable[[], Any]) -> None:
        """Call `callback()` when the session expires."""
        self.expireCallbacks.append(callback)

    def expire(self) -> None:
        """End the session now: forget it and run the expiry callbacks."""
        if self.expired:
            return
        self.expired = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.site.session_store.remove(self.uid)
        callbacks, self.expireCallbacks = self.expireCallbacks, []
        for callback in callbacks:
            callback()

    def getComponent(self, interface: Any, default: Any = None) -> Any:
        """Per-session storage keyed by a class or interface (Twisted's Componentized)."""
        return self._components.get(interface, default)

    def setComponent(self, interface: Any, component: Any) -> None:
        """Store `component` under `interface`."""
        self._components[interface] = component

    def unsetComponent(self, interface: Any) -> None:
        """Remove what is stored under `interface`."""
        self._components.pop(interface, None)


@runtime_checkable
class SessionStore(Protocol):
    """Where sessions live; `plugserve_session_store` may return another implementation."""

    def get(self, uid: bytes) -> Session | None: ...
    def add(self, session: Session) -> None: ...
    def remove(self, uid: bytes) -> None: ...


class InMemorySessionStore(MutableMapping[bytes, Session]):
    """The default store: a dict in this process (a store per Site)."""

    def __init__(self) -> None:
        self._sessions: dict[bytes, Session] = {}

    def get(self, uid: bytes, default: Any = None) -> Any:
        """The live session with this id, or `default`."""
        return self._sessions.get(uid, default)

    def add(self, session: Session) -> None:
        """Keep a new session."""
        self._sessions[session.uid] = session

    def remove(self, uid: bytes) -> None:
        """Forget a session."""
        self._sessions.pop(uid, None)

    def __getitem__(self, uid: bytes) -> Session:
        return self._sessions[uid]

    def __setitem__(self, uid: bytes, session: Session) -> None:
        self._sessions[uid] = session

    def __delitem__(self, uid: bytes) -> None:
        del self._sessions[uid]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._sessions)

    def __len__(self) -> int:
        return len(self._sessions)


def get_session(request: Request, interface: Any = None, force_not_secure: bool = False) -> Any:
    """Find this browser's session through its cookie, or create one and set the cookie
    (what `request.getSession()` does; kept here under its earlier name)."""
    return request.getSession(interface, force_not_secure)


def new_uid() -> bytes:
    """An unguessable session id: 32 random bytes as 64 hex characters."""
    return secrets.token_hex(32).encode("ascii")
