# docs/examples/test_wrapper_plugin.py
"""The wrapper plugin's tests: `python -m pytest docs/examples/test_wrapper_plugin.py`."""

from plugserve import hookimpl
from plugserve.resource import Resource

from docs.examples import wrapper_plugin


class Elsewhere(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"from another plugin\n"


class OtherPlugin:
    @hookimpl
    def plugserve_get_child(self, name):
        return Elsewhere() if name == b"other" else None


def test_the_wrapper_answers_what_nobody_else_does(plugserve_server):
    server = plugserve_server(Resource(), plugins=[wrapper_plugin, OtherPlugin()])
    health = server.get("/health")
    assert (health.status, health.body) == (200, b"ok\n")
    assert health.header("X-Request-Number") is not None
    assert server.get("/other").body == b"from another plugin\n"  # passed through
    assert server.get("/missing").status == 404
