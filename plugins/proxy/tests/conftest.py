"""Fixtures of the proxy tests: the echoing upstream, and settings restored after each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from plugserve_proxy import _settings
from proxy_upstreams import Echo


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
