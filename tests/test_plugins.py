"""Plugin discovery and every hook, through real entry points and real requests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from plugserve import hookimpl
from plugserve._plugins import Hooks, make_plugin_manager
from plugserve.config import Config
from plugserve.error import UsageError
from plugserve.resource import Resource
from plugserve.session import InMemorySessionStore

from tests.cli_helpers import plugserve_command


def fake_distribution(root: Path, dist: str, entry_points: dict[str, str]) -> None:
    """An installed distribution as importlib.metadata sees it: a dist-info folder."""
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[plugserve]\n{lines}\n")


def test_failed_and_duplicate_plugins_are_recorded_and_the_rest_load(tmp_path):
    (tmp_path / "raising_plugin.py").write_text("raise RuntimeError('boom at import')\n")
    (tmp_path / "second_example.py").write_text("")
    fake_distribution(tmp_path, "plugserve-raising", {"raising": "raising_plugin"})
    fake_distribution(tmp_path, "plugserve-imposter", {"example": "second_example"})
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = plugserve_command("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    statuses = [(r["name"], r["distribution"], r["status"]) for r in records]
    assert ("raising", "plugserve-raising", "failed") in statuses
    assert [s for n, _, s in statuses if n == "example"].count("duplicate") == 1
    assert [s for n, _, s in statuses if n == "example"].count("loaded") == 1
    failed = next(r for r in records if r["name"] == "raising")
    assert "boom at import" in failed["error"]
    # The example plugin still serves while a broken one is installed.
    served = plugserve_command("--hello", "x", "--listen", "tcp:notaport", env=env)
    assert "plugin 'raising' failed to load: RuntimeError: boom at import" in served.stderr


class Tree(Resource):
    def __init__(self) -> None:
        super().__init__()
        leaf = Leaf()
        self.putChild(b"users", Resource())
        self.children[b"users"].putChild(b"bob", leaf)
        self.putChild(b"static", leaf)


class Leaf(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"/".join(request.prepath) + b"|" + b"/".join(request.postpath)


class Recorder:
    def __init__(self) -> None:
        self.started: list[bytes] = []
        self.finished: list[tuple[bytes, int, bool]] = []

    @hookimpl
    def plugserve_request_started(self, request):
        self.started.append(request.uri)
        request.setHeader(b"x-started", b"1")

    @hookimpl
    def plugserve_request_finished(self, request):
        self.finished.append((request.uri, request.code, request.finished))

    @hookimpl
    def plugserve_get_child(self, resource, name, request):
        return Leaf() if name == b"dynamic" else None

    @hookimpl
    def plugserve_rewrite_rules(self, config):
        def bob(request):
            if request.postpath[:1] == [b"~bob"]:
                request.postpath[:1] = [b"users", b"bob"]
        return [bob]


def test_lifecycle_child_and_rewrite_hooks(plugserve_server):
    recorder = Recorder()
    server = plugserve_server(Tree(), plugins=[recorder])
    response = server.get("/~bob/x")
    assert response.body == b"users/bob|x"
    assert response.header("X-Started") == "1"
    assert server.get("/dynamic/a/b").body == b"dynamic|a/b"
    assert server.get("/static").body == b"static|"
    assert server.get("/nothing").status == 404
    server.call(lambda: None)  # the finished hooks ran on the loop before this returns
    assert recorder.started == [b"/~bob/x", b"/dynamic/a/b", b"/static", b"/nothing"]
    assert [(uri, code) for uri, code, _ in recorder.finished] == [
        (b"/~bob/x", 200), (b"/dynamic/a/b", 200), (b"/static", 200), (b"/nothing", 404)]


class CountingStore(InMemorySessionStore):
    created = 0

    def add(self, session):
        CountingStore.created += 1
        super().add(session)


class StorePlugin:
    @hookimpl
    def plugserve_session_store(self, config):
        return CountingStore()


class SessionPage(Resource):
    isLeaf = True

    def render_GET(self, request):
        return request.getSession().uid


def test_session_store_hook_replaces_the_default(plugserve_server):
    server = plugserve_server(SessionPage(), plugins=[StorePlugin()])
    first = server.get("/")
    cookie = first.header("Set-Cookie").split(";")[0]
    assert server.get("/", {"Cookie": cookie}).body == first.body
    assert CountingStore.created == 1


class ExtA:
    @hookimpl
    def plugserve_processors(self, config):
        return {".x": Leaf}


class ExtB:
    @hookimpl
    def plugserve_processors(self, config):
        return {".x": Resource, ".y": Resource}


def test_processor_clash_names_both_plugins():
    pm = make_plugin_manager()
    pm.register(ExtA(), name="alpha")
    pm.register(ExtB(), name="beta")
    with pytest.raises(UsageError, match=r"'alpha' and 'beta'|'beta' and 'alpha'"):
        Hooks(pm).processors(Config())
    pm.unregister(name="beta")
    assert Hooks(pm).processors(Config()) == {".x": Leaf}


def test_selected_plugin_is_asked_first_for_the_root():
    class First:
        @hookimpl
        def plugserve_make_root(self, config):
            return "first"

    class Second:
        @hookimpl
        def plugserve_make_root(self, config):
            return "second"

    pm = make_plugin_manager()
    pm.register(First(), name="first")
    pm.register(Second(), name="second")
    root: object = Hooks(pm).make_root(Config())
    assert root == "second"  # pluggy: last registered first
    selected: object = Hooks(pm, selected=["first"]).make_root(Config())
    assert selected == "first"


def test_per_request_hooks_cost_nothing_when_unimplemented():
    hooks = Hooks(make_plugin_manager())
    assert hooks.get_child is None
    assert hooks.request_started is None and hooks.request_finished is None


def test_requested_entry_point_that_fails_is_a_usage_error(tmp_path):
    (tmp_path / "raising_plugin.py").write_text("raise RuntimeError('boom at import')\n")
    fake_distribution(tmp_path, "plugserve-raising", {"raising": "raising_plugin"})
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = plugserve_command("--plugin", "raising", "--hello", "x", env=env)
    assert result.returncode == 2
    assert "--plugin raising: the plugin failed to load: RuntimeError: boom at import" in (
        result.stderr)


def test_misspelt_hook_fails_its_plugin_but_optional_hooks_are_fine(tmp_path):
    (tmp_path / "typo_plugin.py").write_text(
        "from plugserve import hookimpl\n"
        "@hookimpl\ndef plugserve_make_rooot(config):\n    return None\n"
    )
    (tmp_path / "optional_plugin.py").write_text(
        "from plugserve import hookimpl\n"
        "@hookimpl(optionalhook=True)\ndef plugserve_some_future_hook(config):\n    return None\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = plugserve_command("plugins", "--json", "--plugin", "optional_plugin", env=env)
    records = {r["name"]: r for r in json.loads(result.stdout)}
    assert records["optional_plugin"]["status"] == "loaded"
    result = plugserve_command("--plugin", "typo_plugin", "--hello", "x", env=env)
    assert result.returncode == 2 and "plugserve_make_rooot (a typo?)" in result.stderr
