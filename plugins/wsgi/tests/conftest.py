"""Fixtures of the WSGI tests: `serve(app, mount=...)` runs an application behind
`wsgiref.validate.validator` on a real server, in a thread pool of its own."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from wsgiref.validate import validator

import pytest
from plugserve.resource import Resource
from plugserve.testing import TestServer
from plugserve_wsgi import WSGIResource

APPS = Path(__file__).resolve().parent / "apps"
if str(APPS) not in sys.path:
    sys.path.insert(0, str(APPS))  # the Flask app and the Django project import by name


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    """A thread pool for one test, ended (and waited for) after it."""
    executor = ThreadPoolExecutor(4, thread_name_prefix="wsgi-test")
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def serve(pool: ThreadPoolExecutor,
          plugserve_server: Callable[..., TestServer]) -> Callable[..., TestServer]:
    """serve(app, mount=None, **config) -> a running TestServer, `app` behind the validator.

    With `mount="app"` the application sits at /app below a plain Resource root.  (The pool
    is set up first so that it is ended after the servers are closed.)"""

    def start(app: Any, mount: str | None = None, **settings: Any) -> TestServer:
        resource = WSGIResource(None, pool, validator(app))
        root: Any = resource
        if mount is not None:
            root = Resource()
            root.putChild(mount.encode(), resource)
        return plugserve_server(root, **settings)

    return start
