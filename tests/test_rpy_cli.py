"""plugserve-rpy through the real command: `.rpy` under `--path`, `--resource-script`, its
usage errors, error pages and logs, `--no-plugin rpy`, and the examples of docs/rpy.md."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.cli_helpers import LOOPBACK, REPO, plugserve_command, running

LEAF = """\
from plugserve.resource import Resource

class Echo(Resource):
    isLeaf = True

    def render_GET(self, request):
        runs = registry.getComponent("runs", 0) + 1
        registry.setComponent("runs", runs)
        return b"%s run %d path /%s" % (WORD, runs, b"/".join(request.postpath))

WORD = b"first"
resource = Echo()
"""
BROKEN = "x = 1\nraise RuntimeError('kaboom-secret')\n"
SECRET_SCRIPT = "PASSWORD = 'hunter2'\nresource = None\n"


def get(url: str, path: str) -> tuple[int, bytes]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def edit(path: Path, text: str) -> None:
    """Rewrite a file; its mtime moves on by 1 s, so the change is seen at any granularity."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def test_help_shows_the_option_and_plugins_lists_the_hooks() -> None:
    help_text = plugserve_command("--help").stdout
    assert "plugin rpy:" in help_text and "--resource-script [/PREFIX=]FILE.rpy" in help_text
    records = json.loads(plugserve_command("plugins", "--json").stdout)
    rpy = next(r for r in records if r["name"] == "rpy")
    assert (rpy["distribution"], rpy["status"]) == ("plugserve-rpy", "loaded")
    assert "plugserve_processors" in rpy["hooks"] and "plugserve_make_root" in rpy["hooks"]
    assert "plugserve_mounts" in rpy["hooks"]


def test_resource_script_is_the_whole_site(tmp_path: Path) -> None:
    script = tmp_path / "site.rpy"
    script.write_text(LEAF)
    with running(["--resource-script", str(script), "--listen", LOOPBACK]) as server:
        assert get(server.url, "/") == (200, b"first run 1 path /")
        assert get(server.url, "/a/b") == (200, b"first run 2 path /a/b")
        edit(script, LEAF.replace('b"first"', 'b"edited"'))
        assert get(server.url, "/c") == (200, b"edited run 3 path /c")
        edit(script, BROKEN)
        status, body = get(server.url, "/")
        assert status == 500 and b"site.rpy raised an exception at line 2" in body
        edit(script, LEAF)
        assert get(server.url, "/") == (200, b"first run 4 path /")
        status, _, err = server.stop(signal.SIGINT)
    assert status == 0
    assert f"resource script {script}, line 2: RuntimeError: kaboom-secret" in err


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        pytest.param("missing", r"missing\.rpy: no such file; give an existing \.rpy file",
                     id="missing"),
        pytest.param("folder", r"folder: is a directory", id="directory"),
        pytest.param("syntax", r"syntax\.rpy, line 2: SyntaxError: .*; fix the script",
                     id="syntax-error"),
        pytest.param("with-path", r"site\.rpy: --path also names a root; give only one",
                     id="with-path"),
    ],
)
def test_bad_resource_script_is_a_usage_error(tmp_path: Path, setup: str, message: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "syntax.rpy").write_text("x = 1\nresource = (\n")
    (tmp_path / "site.rpy").write_text(LEAF)
    name = {"missing": "missing.rpy", "folder": "folder", "syntax": "syntax.rpy"}.get(
        setup, "site.rpy")
    extra = ["--path", str(tmp_path)] if setup == "with-path" else []
    result = plugserve_command("--resource-script", str(tmp_path / name), *extra)
    assert result.returncode == 2
    assert re.search(rf"^plugserve: error: --resource-script .*{message}", result.stderr, re.M), \
        result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    www = tmp_path / "www"
    (www / "app").mkdir(parents=True)
    (www / "page.rpy").write_text(LEAF)
    (www / "broken.rpy").write_text(BROKEN)
    (www / "app" / "index.rpy").write_text(LEAF)
    (www / "secret.rpy").write_text(SECRET_SCRIPT)
    (www / "hello.txt").write_text("hello\n")
    return www


def test_scripts_under_path_and_their_errors(tree: Path) -> None:
    with running(["--path", str(tree), "--listen", LOOPBACK]) as server:
        assert get(server.url, "/page.rpy/x") == (200, b"first run 1 path /x")
        # index.rpy renders its folder; the registry is the tree's, shared by its scripts.
        assert get(server.url, "/app/") == (200, b"first run 2 path /")
        status, body = get(server.url, "/broken.rpy")
        assert status == 500 and b"The resource script broken.rpy raised" in body
        assert b"kaboom-secret" not in body and b"Traceback" not in body
        assert str(tree).encode() not in body
        assert get(server.url, "/hello.txt") == (200, b"hello\n")  # still serving
        edit(tree / "broken.rpy", LEAF)
        assert get(server.url, "/broken.rpy") == (200, b"first run 3 path /")
        status, _, err = server.stop(signal.SIGINT)
    assert status == 0
    assert "Error while rendering GET /broken.rpy" in err
    assert f"resource script {tree / 'broken.rpy'}, line 2: RuntimeError: kaboom-secret" in err


def test_display_tracebacks_shows_the_scripts_traceback(tree: Path) -> None:
    args = ["--path", str(tree), "--listen", LOOPBACK, "--display-tracebacks"]
    with running(args) as server:
        status, body = get(server.url, "/broken.rpy")
    assert status == 500 and b"Traceback" in body and b"kaboom-secret" in body
    assert f"{tree / 'broken.rpy'}&quot;, line 2".encode() in body


def test_no_plugin_rpy_turns_scripts_off(tree: Path) -> None:
    """Without the plugin, a .rpy file is 404 and never sent as source, and index.rpy is not
    an index; --resource-script then says the plugin is disabled."""
    args = ["--path", str(tree), "--listen", LOOPBACK, "--no-plugin", "rpy"]
    with running(args) as server:
        for path in ("/page.rpy", "/secret.rpy", "/page.rpy/x", "/page"):
            status, body = get(server.url, path)
            assert status == 404 and b"hunter2" not in body and b"registry" not in body, path
        status, body = get(server.url, "/app/")
        assert status == 200 and b"Directory listing for /app/" in body
        assert get(server.url, "/hello.txt") == (200, b"hello\n")
    result = plugserve_command("--no-plugin", "rpy", "--resource-script",
                               str(tree / "page.rpy"))
    assert result.returncode == 2
    assert ("--resource-script needs the rpy plugin (distribution plugserve-rpy), which is "
            "installed, but --no-plugin rpy disabled it") in result.stderr


# -- docs/rpy.md ----------------------------------------------------------------------------------

DOCS_BLOCK_RE = re.compile(r"```python\n# (docs/examples/rpy_[\w.-]+)\n(.*?)```", re.S)


def doc_blocks() -> dict[str, str]:
    page = (REPO / "docs" / "rpy.md").read_text()
    return {m.group(1): f"# {m.group(1)}\n{m.group(2)}" for m in DOCS_BLOCK_RE.finditer(page)}


def test_the_pages_examples_are_the_files() -> None:
    blocks = doc_blocks()
    files = {f"docs/examples/{p.name}" for p in (REPO / "docs" / "examples").glob("rpy_*")}
    assert set(blocks) == files
    for path, text in blocks.items():
        assert (REPO / path).read_text() == text, f"docs/rpy.md: block differs from {path}"


def test_the_pages_examples_serve() -> None:
    """docs/examples/rpy_scripts.py serves the page's scripts by name."""
    config = str(REPO / "docs" / "examples" / "rpy_scripts.py")
    with running(["--config", config, "--listen", LOOPBACK]) as server:
        status, body = get(server.url, "/scripts/rpy_hello.rpy")
        assert status == 200 and body.startswith(b"Hello from rpy_hello.rpy, run at ")
        assert [get(server.url, "/scripts/rpy_counter.rpy") for _ in range(2)] == [
            (200, b"1 visits\n"), (200, b"2 visits\n")]
        assert get(server.url, "/scripts/rpy_cached.rpy?n=7") == (200, b"7 squared is 49\n")
        assert get(server.url, "/scripts/rpy_cached.rpy") == (200, b"12 squared is 144\n")
        assert get(server.url, "/scripts/rpy_scripts.py")[0] == 404
        assert get(server.url, "/")[0] == 302
