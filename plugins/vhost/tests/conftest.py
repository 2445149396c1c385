"""Fixtures of the vhost tests: every test once per HTTP engine (h11, httptools), the
trusted ranges reset after each test, and resources that say what reached them."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest
from plugserve_vhost import _forwarded


@pytest.fixture(params=["h11", "httptools"])
def plugserve_server(plugserve_server: Any, request: pytest.FixtureRequest) -> Any:
    """plugserve.testing's factory, on this test's HTTP engine."""
    return functools.partial(plugserve_server, http_engine=request.param)


@pytest.fixture(autouse=True)
def trusted_ranges() -> Iterator[None]:
    """Each test starts trusting no front proxy (a test may `_forwarded.use` some)."""
    _forwarded.use(())
    yield
    _forwarded.use(())
