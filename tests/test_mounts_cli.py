"""One site composed of several plugins' mounts, run as `plugserve` for real: --path at the
root, --wsgi and --resource-script under prefixes, and docs/examples/folders_plugin.py, which
mounts folders it gets from the directory hook."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.cli_helpers import LOOPBACK, plugserve_command, running

APP = "docs.examples.wsgi_site:application"  # says its SCRIPT_NAME and PATH_INFO
SCRIPT = """\
from plugserve.resource import Resource

class Tool(Resource):
    isLeaf = True
    def render_GET(self, request):
        return b"tool at /" + b"/".join(request.prepath) + b" rest " + b"/".join(request.postpath)

resource = Tool()
"""


def get(url: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET, without following redirects' bodies."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), \
                response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """htdocs/ (with a folder named like a mount), tools.rpy, and guide/ for --folder."""
    htdocs = tmp_path / "htdocs"
    (htdocs / "app").mkdir(parents=True)
    (htdocs / "index.html").write_text("htdocs index")
    (htdocs / "app" / "hidden.txt").write_text("shadowed by the mount")
    (tmp_path / "tools.rpy").write_text(SCRIPT)
    guide = tmp_path / "guide"
    (guide / "empty").mkdir(parents=True)
    (guide / "start.html").write_text("guide index")
    (guide / "page.html").write_text("guide page")
    (guide / "notes.log").write_text("log")
    (guide / "count.rpy").write_text(SCRIPT.replace("tool at", "rpy at"))
    return tmp_path


def test_one_root_and_several_plugins_mounts(tree: Path) -> None:
    args = ["--path", str(tree / "htdocs"), "--wsgi", f"/app={APP}",
            "--resource-script", f"/api/tools={tree / 'tools.rpy'}",
            "--plugin", "docs.examples.folders_plugin", "--folder", f"/guide={tree / 'guide'}",
            "--index", "start.html", "--index", "index.html", "--ignore-ext", ".html",
            "--mime-type", ".log=text/x-log", "--no-listing", "--listen", LOOPBACK]
    with running(args) as server:
        url = server.url
        assert get(url + "/")[::2] == (200, "htdocs index")
        assert get(url + "/app/hello")[2] == "script '/app', path '/hello'\n"
        assert get(url + "/app")[2] == "script '/app', path ''\n"
        assert get(url + "/app/hidden.txt")[2] == "script '/app', path '/hidden.txt'\n"
        assert get(url + "/api/tools/a/b")[2] == "tool at /api/tools rest a/b"
        assert get(url + "/api/other")[0] == 404  # /api itself is --path's, and not there
        # the folder from the directory hook, with the static options and .rpy applied
        assert get(url + "/guide/")[::2] == (200, "guide index")
        assert get(url + "/guide/page")[::2] == (200, "guide page")
        assert get(url + "/guide/notes.log")[:2] == (200, "text/x-log")
        assert get(url + "/guide/count.rpy")[2] == "rpy at /guide/count.rpy rest "
        assert get(url + "/guide/empty/")[0] == 403
        lines = server.lines
        status, _, err = server.stop()
    assert status == 0, err
    assert [line for line in lines if line.startswith("plugserve: mount ")] == [
        "plugserve: mount / -> File",
        "plugserve: mount /api/tools -> ResourceScriptWrapper (plugin rpy)",
        "plugserve: mount /app -> WSGIResource (plugin wsgi)",
        "plugserve: mount /guide -> File (plugin docs.examples.folders_plugin)",
    ]


def test_a_wsgi_root_and_a_wsgi_mount(tree: Path) -> None:
    with running(["--wsgi", APP, "--wsgi", f"/sub/app={APP}", "--listen", LOOPBACK]) as server:
        assert get(server.url + "/x/y")[2] == "script '', path '/x/y'\n"
        assert get(server.url + "/sub/x")[2] == "script '', path '/sub/x'\n"
        assert get(server.url + "/sub/app/x")[2] == "script '/sub/app', path '/x'\n"


def test_mounts_without_a_root_404_the_rest(tree: Path) -> None:
    with running(["--resource-script", f"/tools={tree / 'tools.rpy'}",
                  "--listen", LOOPBACK]) as server:
        assert get(server.url + "/")[0] == 404
        assert get(server.url + "/tools/x")[2] == "tool at /tools rest x"
        assert "plugserve: mount / -> nothing (404)" in server.lines


@pytest.mark.parametrize(("args", "message"), [
    (["--wsgi", f"/x={APP}", "--resource-script", "/x/={tools}"],
     "plugserve: error: plugins 'rpy' and 'wsgi' both mount /x; give one of them another "
     "prefix, or disable a plugin with --no-plugin NAME"),
    (["--wsgi", f"/a//b={APP}"],
     "plugserve: error: --wsgi /a//b=docs.examples.wsgi_site:application: the prefix '/a//b' "
     "is not a URL path: it has an empty segment ('//')"),
    (["--wsgi", f"/={APP}"], "'/' is the root, not a mount; serve the root without PREFIX="),
    (["--wsgi", APP, "--wsgi", APP], "is served at the root (no /PREFIX=) already"),
    (["--wsgi", f"/a={APP}", "--wsgi", f"a/={APP}"], "is served under /a already"),
    (["--resource-script", "/t=nothing.rpy"], "--resource-script /t=nothing.rpy: no such file"),
    (["--resource-script", "{tools}", "--path", "."], "--path also names a root"),
    (["--plugin", "docs.examples.folders_plugin", "--folder", "guide"],
     "--folder guide: give /PREFIX=DIR"),
])
def test_mount_usage_errors(tree: Path, args: list[str], message: str) -> None:
    result = plugserve_command(*[a.format(tools=tree / "tools.rpy") for a in args],
                               "--listen", LOOPBACK)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


def test_a_mounted_script_beside_path(tree: Path) -> None:
    with running(["--resource-script", f"/tools={tree / 'tools.rpy'}",
                  "--path", str(tree / "htdocs"), "--listen", LOOPBACK]) as server:
        assert get(server.url + "/")[2] == "htdocs index"
        assert get(server.url + "/tools")[2] == "tool at /tools rest "
