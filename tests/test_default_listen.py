"""The plugserve_default_listen hook, through the real command: a plugin's default endpoint
replaces tcp:8080, and --listen or a config file's `listen` still wins."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import LOOPBACK, running

PLUGIN = '''\
import os
from plugserve import hookimpl
from plugserve.resource import Resource


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"hello"


@hookimpl
def plugserve_make_root(config):
    return Hello()


@hookimpl
def plugserve_default_listen(config):
    return ["unix:" + os.environ["HELLO_SOCKET"]]
'''


def test_a_plugins_default_endpoint_replaces_tcp_8080(tmp_path: Path) -> None:
    (tmp_path / "hello_default.py").write_text(PLUGIN)
    socket_path = tmp_path / "hello.sock"
    env = {"HELLO_SOCKET": str(socket_path)}
    with running(["--plugin", "hello_default"], cwd=tmp_path, env=env) as server:
        assert server.urls == [f"http+unix://{socket_path}"]
    with running(["--plugin", "hello_default", "--listen", LOOPBACK], cwd=tmp_path,
                 env=env) as server:
        assert server.url.startswith("http://127.0.0.1:")
    (tmp_path / "site.py").write_text(f"from hello_default import Hello\nroot = Hello()\n"
                                      f"listen = [{LOOPBACK!r}]\n")
    with running(["--plugin", "hello_default", "--config", "site.py"], cwd=tmp_path,
                 env=env) as server:
        assert server.url.startswith("http://127.0.0.1:")
