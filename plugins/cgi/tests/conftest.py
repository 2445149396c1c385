"""Fixtures of the CGI tests: every test once per HTTP engine (h11, httptools), the CGI
settings reset after each test, and a server whose /cgi-bin is a folder of real scripts."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cgi_scripts
import pytest
from cgi_scripts import Scripts
from plugserve.resource import Resource
from plugserve_cgi import CGIDirectory, _settings


@pytest.fixture(params=["h11", "httptools"])
def plugserve_server(plugserve_server: Any, request: pytest.FixtureRequest) -> Any:
    """plugserve.testing's factory, on this test's HTTP engine."""
    return functools.partial(plugserve_server, http_engine=request.param)


@pytest.fixture(autouse=True)
def cgi_settings() -> Iterator[None]:
    """Each test starts with the default settings (a test may `_settings.use` others), and
    with a note of the children already running (cgi_scripts.new_children)."""
    before = _settings.current()
    cgi_scripts.baseline = {pid for pid, _ in cgi_scripts.children()}
    yield
    _settings.use(before)


@pytest.fixture
def scripts(tmp_path: Path) -> Scripts:
    folder = tmp_path / "cgi-bin"
    folder.mkdir()
    return Scripts(folder)


@pytest.fixture
def cgi_bin(plugserve_server: Any, scripts: Scripts) -> Callable[[], Any]:
    """A server whose /cgi-bin is `scripts`' folder (started when called, after the scripts
    are written)."""

    def start(**settings: Any) -> Any:
        root = Resource()
        root.putChild(b"cgi-bin", CGIDirectory(str(scripts.path)))
        return plugserve_server(root, **settings)

    return start
