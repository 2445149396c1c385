"""The suite uses plugserve's own pytest plugin (the `plugserve_server` fixture, installed with
the core as a `pytest11` entry point); shared helpers live in tests/wire.py and
tests/cli_helpers.py.

HTTP engines: a module (or test) marked `each_engine` runs once per engine, h11 and httptools
(skipped when httptools is not installed), through the `http_engine` fixture, which the
`plugserve_server` fixture below passes on to every server the test starts.  Unmarked tests get
the configuration's default engine ("auto": httptools when installed)."""

from __future__ import annotations

import functools

import pytest
from plugserve._protocol.engines import engine_name

from tests.wire import ServerFactory

#: The httptools engine can run here (httptools installed, and strict enough: _http_fast.py).
HAVE_HTTPTOOLS = engine_name("auto") == "httptools"

ENGINE_PARAMS = [
    pytest.param("h11", id="h11"),
    pytest.param(
        "httptools",
        id="httptools",
        marks=pytest.mark.skipif(
            not HAVE_HTTPTOOLS, reason='no httptools engine here (pip install "./core[fast]")'
        ),
    ),
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "each_engine: run the test once per HTTP engine (h11, httptools)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "http_engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "each_engine"
    ):
        metafunc.parametrize("http_engine", ENGINE_PARAMS, indirect=True)


@pytest.fixture
def http_engine(request: pytest.FixtureRequest) -> str:
    """The HTTP engine of this test: its parameter under `each_engine`, else the default."""
    return str(getattr(request, "param", "auto"))


@pytest.fixture
def plugserve_server(plugserve_server: ServerFactory, http_engine: str) -> ServerFactory:
    """plugserve.testing's factory, starting every server on this test's HTTP engine."""
    return functools.partial(plugserve_server, http_engine=http_engine)
