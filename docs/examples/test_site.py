# docs/examples/test_site.py
"""A resource and a plugin object, with their tests: `python -m pytest docs/examples/test_site.py`.

The `plugserve_server` fixture comes with plugserve (a pytest plugin); each server it starts runs
on 127.0.0.1, on a port of its own, and is stopped after the test.
"""

from plugserve import hookimpl
from plugserve.resource import Resource
from plugserve.testing import RawClient


class Greeting(Resource):
    isLeaf = True

    def render_GET(self, request):
        name = request.args.get(b"name", [b"world"])[0]
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"Hello, " + name + b"!\n"


root = Greeting()


class PoweredBy:
    """A plugin as an object: its methods are the hook implementations."""

    def __init__(self):
        self.value = b""

    @hookimpl
    def plugserve_configure(self, config):
        self.value = config.option("powered_by", "plugserve").encode("utf-8")

    @hookimpl
    def plugserve_request_started(self, request):
        request.setHeader(b"x-powered-by", self.value)


def test_greeting(plugserve_server):
    server = plugserve_server(root)
    response = server.get("/?name=docs")
    assert (response.status, response.body) == (200, b"Hello, docs!\n")
    assert response.header("Content-Type") == "text/plain; charset=utf-8"


def test_plugin_with_options(plugserve_server):
    # options= stands for the parsed command line (argparse dest names).
    server = plugserve_server(root, plugins=[PoweredBy()], options={"powered_by": "tests"})
    assert server.get("/").header("X-Powered-By") == "tests"


def test_limits_and_raw_bytes(plugserve_server):
    server = plugserve_server(root, max_header_count=5)  # any Config field
    reply = server.raw(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 5 + b"\r\n")
    assert reply.startswith(b"HTTP/1.1 431 ")
    assert server.request("POST", "/", body=b"x").status == 405


def test_keep_alive_on_the_wire(plugserve_server):
    server = plugserve_server(root)
    with RawClient.to(server) as client:  # one connection; each response is read strictly
        for name in (b"a", b"b"):
            client.send(b"GET /?name=" + name + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            response = client.response()
            assert response.body == b"Hello, " + name + b"!\n"
            assert response.header(b"content-length") == b"%d" % len(response.body)
