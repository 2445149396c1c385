"""The private parts of h11 and asyncio the core relies on are still there, shaped as expected.

Each is used only as a fast path with a public fallback, so a change would not break serving,
but it would quietly make it slower; these tests make such a change fail loudly instead.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import re
import tomllib
from pathlib import Path

import h11
from plugserve._protocol import h11_engine, response_side

ROOT = Path(__file__).resolve().parents[1]


def test_h11_is_pinned_below_the_next_minor_version():
    project = tomllib.loads((ROOT / "core" / "pyproject.toml").read_text())["project"]
    (pin,) = [dep for dep in project["dependencies"] if dep.startswith("h11")]
    assert re.fullmatch(r"h11>=0\.16,<0\.17", pin), pin
    version = importlib.metadata.version("h11")
    assert version.startswith("0.16."), version


def test_h11_headers_keep_their_item_list():
    """h11_engine._header_items reads Headers._full_items: (raw name, lower name, value)."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: a\r\nX-Thing: 1\r\n\r\n")
    request = conn.next_event()
    assert isinstance(request, h11.Request)
    full = request.headers._full_items
    assert full == [(b"Host", b"host", b"a"), (b"X-Thing", b"x-thing", b"1")]
    assert h11_engine._header_items(request.headers) == list(request.headers)


def test_h11_states_are_the_ones_the_engine_knows():
    """The engines decide "request complete" by the complement of _REQUEST_INCOMPLETE."""
    states = {
        name for name, value in vars(h11._state).items()
        if isinstance(value, type) and issubclass(value, h11._util.Sentinel)
        and name.isupper() and not name.startswith("_") and name not in ("CLIENT", "SERVER")
    }
    incomplete = response_side._REQUEST_INCOMPLETE
    known = {s.__name__ for s in incomplete} | {"DONE", "MIGHT_SWITCH_PROTOCOL"}
    assert states == known


def test_asyncio_selector_loop_makes_socket_transports():
    """endpoints.Acceptor makes each plain TCP transport with the selector loop's private
    `_make_socket_transport(sock, protocol, waiter=None, *, extra=None, server=None)`."""
    make = getattr(asyncio.SelectorEventLoop, "_make_socket_transport", None)
    assert make is not None, "asyncio removed _make_socket_transport: update endpoints.Acceptor"
    params = list(inspect.signature(make).parameters)
    assert params[:3] == ["self", "sock", "protocol"] and "extra" in params, params
