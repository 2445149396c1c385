"""Fixtures of the proxy tests: every test once per HTTP engine (h11, httptools), the echoing
upstream, a real nginx and a websockets echo server (proxy_services), and settings restored
after each test."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest
from plugserve_proxy import _settings
from proxy_services import nginx, ws_echo  # noqa: F401 - fixtures, offered to every test file
from proxy_upstreams import Echo


@pytest.fixture(params=["h11", "httptools"])
def plugserve_server(plugserve_server: Any, request: pytest.FixtureRequest) -> Any:
    """plugserve.testing's factory, on this test's HTTP engine."""
    return functools.partial(plugserve_server, http_engine=request.param)


@pytest.fixture
def echo(plugserve_server: Any) -> tuple[Echo, Any]:
    """(the Echo resource, its running TestServer)."""
    resource = Echo()
    return resource, plugserve_server(resource)


@pytest.fixture(autouse=True)
def proxy_settings() -> Iterator[None]:
    """Each test starts from the default settings (a test may `_settings.use` others)."""
    _settings.use(_settings.ProxySettings())
    yield
    _settings.use(_settings.ProxySettings())
