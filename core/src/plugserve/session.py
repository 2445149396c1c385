"""Sessions: `request.getSession()` finds or creates one per browser through a cookie.

The store is chosen by the `plugserve_session_store` hook; the default keeps sessions in memory
in this process.  Unlike Twisted, a session is touched each time its cookie brings it back, so it
expires after `sessionTimeout` seconds of inactivity rather than that long after creation, and the
cookie is HttpOnly and SameSite=Lax (and Secure under TLS).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._request import Request
    from .server import Site

__all__ = ["InMemorySessionStore", "Session", "SessionStore", "get_session"]


class Session:
    """Per-browser state kept between requests; `sessionTimeout` seconds of idleness expire it."""

    sessionTimeout: float = 900

    def __init__(self, site: Site, uid: bytes, reactor: Any = None) -> None:
        self.site = site
        self.uid = uid
        self.expireCallbacks: list[Callable[[], Any]] = []
        self.lastModified = time.monotonic()
        self.expired = False
        self._components: dict[Any, Any] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._schedule(self.sessionTimeout)

    def set_timeout(self, seconds: float) -> None:
        """Change this session's idle timeout (the Site's `--session-timeout`)."""
        self.sessionTimeout = seconds
        if self._timer is not None:
            self._timer.cancel()
        self._schedule(seconds)

    def _schedule(self, delay: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timer = loop.call_later(delay, self._check_expiry)

    def _check_expiry(self) -> None:
        remaining = self.lastModified + self.sessionTimeout - time.monotonic()
        if remaining > 0:
            self._schedule(remaining)
        else:
            self.expire()

    def touch(self) -> None:
        """Mark the session as used now."""
        self.lastModified = time.monotonic()

    def is_expired(self) -> bool:
        """True once the session was expired or has been idle longer than its timeout."""
        return self.expired or time.monotonic() - self.lastModified > self.sessionTimeout

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
