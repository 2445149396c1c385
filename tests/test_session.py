"""Sessions: `request.getSession()`, its cookie, per-session storage and expiry.

Reference: shared/reference/twisted-web.md §1.6.  plugserve differs from Twisted on purpose: the
cookie is HttpOnly and SameSite=Lax, and a session is touched whenever its cookie brings it back,
so it expires after `session_timeout_s` of inactivity rather than that long after creation.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from plugserve.resource import Resource
from plugserve.server import Site
from plugserve.session import Session
from plugserve.testing import Clock, TestServer

ServerFactory = Callable[..., TestServer]

COOKIE_RE = re.compile(r"^TWISTED_SESSION=([0-9a-f]{64}); Path=/; HttpOnly; SameSite=lax$")


class ICounter:
    """A component key for per-session storage."""


class SessionProbe(Resource):
    """Counts visits per session (setComponent/getComponent); `?expire=1` expires it."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.expired: list[bytes] = []
        self.expired_event = threading.Event()

    def render_GET(self, request: Any) -> bytes:
        session = request.getSession()
        # Calling it again in the same request gives the same session (and no second cookie).
        assert request.getSession() is session
        assert request.session is session
        count = (session.getComponent(ICounter) or 0) + 1
        session.setComponent(ICounter, count)
        if count == 1:
            def on_expire(uid: bytes = session.uid) -> None:
                self.expired.append(uid)
                self.expired_event.set()

            session.notifyOnExpire(on_expire)
        if request.args.get(b"expire"):
            session.expire()
        return b"%s %d" % (session.uid, count)


def cookie_uid(response: Any) -> str:
    cookies = response.headers.get_all("Set-Cookie") or []
    assert len(cookies) == 1, cookies
    match = COOKIE_RE.match(cookies[0])
    assert match is not None, cookies[0]
    return match.group(1)


def visit(server: Any, uid: str | None = None, query: str = "") -> tuple[str, int, Any]:
    headers = {"Cookie": f"TWISTED_SESSION={uid}"} if uid else {}
    response = server.get("/" + query, headers)
    assert response.status == 200
    body_uid, count = response.body.split()
    return body_uid.decode(), int(count), response


def test_get_session_creates_session_and_sets_cookie(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(SessionProbe())
    uid, count, response = visit(server)
    assert count == 1
    assert cookie_uid(response) == uid
    assert len(uid) == 64


def test_same_cookie_same_session(plugserve_server: ServerFactory) -> None:
    site = Site(SessionProbe())
    server = plugserve_server(site)
    uid, _, _ = visit(server)
    uid2, count, second = visit(server, uid)
    assert uid2 == uid
    assert count == 2
    assert second.header("Set-Cookie") is None
    uid3, count, _ = visit(server, uid)
    assert (uid3, count) == (uid, 3)
    assert site.sessions.get(uid.encode()) is not None
    assert server.call(lambda: site.getSession(uid.encode())).uid == uid.encode()


def test_sessions_are_per_browser(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(SessionProbe())
    a, _, _ = visit(server)
    b, _, _ = visit(server)
    assert a != b
    assert visit(server, a)[:2] == (a, 2)
    assert visit(server, b)[:2] == (b, 2)
    assert visit(server, a)[:2] == (a, 3)


def test_unknown_uid_gets_a_new_session(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(SessionProbe())
    bogus = "0" * 64
    uid, count, response = visit(server, bogus)
    assert uid != bogus
    assert count == 1
    assert cookie_uid(response) == uid


def test_other_cookies_are_ignored(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(SessionProbe())
    uid, _, _ = visit(server)
    response = server.get("/", {"Cookie": f"other=1; TWISTED_SESSION={uid}; more=2"})
    assert response.body.split()[1] == b"2"


def test_expire_gives_a_new_session_and_runs_callbacks(plugserve_server: ServerFactory) -> None:
    probe = SessionProbe()
    site = Site(probe)
    server = plugserve_server(site)
    uid, _, _ = visit(server)
    assert visit(server, uid, "?expire=1")[:2] == (uid, 2)
    assert probe.expired == [uid.encode()]
    assert site.sessions.get(uid.encode()) is None
    new_uid, count, response = visit(server, uid)
    assert new_uid != uid
    assert count == 1
    assert cookie_uid(response) == new_uid


def test_session_touched_on_use_and_expires_when_idle(plugserve_server: ServerFactory) -> None:
    """End to end over TCP, on the Site's clock: request, advance the clock, the session is
    gone, and the old cookie gets a new session and a new cookie."""
    probe = SessionProbe()
    clock = Clock()
    site = Site(probe, reactor=clock)
    server = plugserve_server(site, session_timeout_s=0.5)
    uid, _, _ = visit(server)
    # Used every 0.2 s (for 1 s, twice its timeout), the session lives on.
    for elapsed in (0.2, 0.4, 0.6, 0.8, 1.0):
        server.call(lambda: clock.advance(0.2))
        got_uid, count, _ = visit(server, uid)
        assert got_uid == uid, f"session lost after {elapsed} s of use"
    assert count == 6
    assert probe.expired == []
    # Idle for 0.7 s, longer than the timeout: its timer expires it and it is forgotten.
    server.call(lambda: clock.advance(0.7))
    assert probe.expired == [uid.encode()]
    assert site.sessions.get(uid.encode()) is None
    assert clock.getDelayedCalls() == []  # and its timer is gone with it
    new_uid, count, response = visit(server, uid)
    assert (new_uid != uid, count) == (True, 1)
    assert cookie_uid(response) == new_uid


def test_idle_session_is_replaced_even_before_its_timer(plugserve_server: ServerFactory) -> None:
    """Its timer is late (a busy loop): the cookie still finds the session expired."""
    probe = SessionProbe()
    clock = Clock()
    server = plugserve_server(Site(probe, reactor=clock), session_timeout_s=0.3)
    uid, _, _ = visit(server)

    def time_passes_without_the_timer() -> None:
        for call in clock.getDelayedCalls():
            call.cancel()
        clock.advance(0.45)

    server.call(time_passes_without_the_timer)
    new_uid, count, _ = visit(server, uid)
    assert new_uid != uid
    assert count == 1
    assert probe.expired == [uid.encode()]


def test_a_session_takes_its_own_reactor_else_its_sites() -> None:
    """Twisted's `Session(site, uid, reactor=None)`: outside a server, on fake clocks."""
    site_clock, own_clock = Clock(), Clock()
    site = Site(Resource(), reactor=site_clock)
    assert site.reactor is site_clock
    on_site = Session(site, b"a")
    on_own = Session(site, b"b", reactor=own_clock)
    site.session_store.add(on_site)
    site.session_store.add(on_own)
    site_clock.advance(Session.sessionTimeout + 1)
    assert (on_site.expired, on_own.expired) == (True, False)
    assert site.getSession(b"a") is None and site.getSession(b"b") is on_own
    own_clock.advance(Session.sessionTimeout - 1)
    on_own.touch()
    own_clock.advance(Session.sessionTimeout - 1)
    assert not on_own.is_expired()
    own_clock.advance(2)
    assert on_own.expired and site.getSession(b"b") is None


def test_session_cookie_name_includes_sitepath(plugserve_server: ServerFactory) -> None:
    """The cookie name gets one `_segment` per sitepath element (empty for a normal root)."""
    names: list[list[bytes]] = []

    class Names(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            names.append(list(request.sitepath))
            request.getSession()
            return b"ok"

    response = plugserve_server(Names()).get("/x/y")
    assert names == [[]]
    assert (response.header("Set-Cookie") or "").startswith("TWISTED_SESSION=")
