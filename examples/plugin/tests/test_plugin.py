"""The example plugin's own tests, using the fixture plugserve installs for pytest."""

from __future__ import annotations

import subprocess
import sys

from plugserve.resource import Resource
from plugserve_example import Greeting, _plugin


class Page(Resource):
    isLeaf = False

    def render_GET(self, request: object) -> bytes:
        return b"page"


def test_greeting_escapes(plugserve_server):
    server = plugserve_server(Greeting("<Hi & bye>"))
    response = server.get("/anything")
    assert response.status == 200
    assert b"&lt;Hi &amp; bye&gt;" in response.body


def test_health_child_and_header_through_hooks(plugserve_server):
    server = plugserve_server(Page(), plugins=[_plugin], options={"served_by": "example"})
    health = server.get("/_health")
    assert (health.status, health.body) == (200, b"ok\n")
    assert health.header("X-Served-By") == "example"
    assert server.get("/nothing").status == 404


def test_command_line_serves_the_greeting():
    help_text = subprocess.run(
        [sys.executable, "-m", "plugserve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "plugin example" in help_text and "--hello TEXT" in help_text
