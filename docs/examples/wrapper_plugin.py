# docs/examples/wrapper_plugin.py
"""A one-file plugin that follows pluggy's calling rules: its hooks take only the arguments
they read, and it wraps the other plugins' answers.

    plugserve --plugin docs.examples.wrapper_plugin --config docs/examples/wrapper_plugin.py
    curl -i localhost:8080/health        # 200 "ok", and an X-Request-Number header

Its tests are docs/examples/test_wrapper_plugin.py.
"""

from __future__ import annotations

import itertools

from plugserve import hookimpl
from plugserve.resource import Resource


class Health(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"ok\n"


_numbers = itertools.count(1)


@hookimpl(wrapper=True)
def plugserve_get_child(name):
    """Fewer arguments than the spec (resource, name, request): only `name` is read.

    A new-style wrapper: `yield` runs the other plugins' implementations and gives their
    answer (None when nobody had one); what the wrapper returns replaces it."""
    child = yield
    if child is None and name == b"health":
        return Health()
    return child


@hookimpl(hookwrapper=True)
def plugserve_request_started(request):
    """An old-style wrapper: `yield` gives an outcome (`get_result()`, `force_result(...)`)."""
    outcome = yield
    if outcome.exception is None:
        request.setHeader(b"x-request-number", str(next(_numbers)).encode())


root = Resource()  # lets `plugserve --config` serve this file; /health comes from the hook
root.putChild(b"", Health())
