"""Hook calls follow pluggy's rules: fewer arguments than the spec, and wrappers of both styles,
with real plugins registered and real requests over sockets."""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from typing import Any

import pluggy
import pytest
from plugserve import hookimpl
from plugserve._plugins import Hooks, make_plugin_manager
from plugserve.config import Config
from plugserve.resource import Resource

from tests.cli_helpers import LOOPBACK, plugserve_command, running
from tests.test_cli import fetch
from tests.test_plugins import fake_distribution


class Leaf(Resource):
    isLeaf = True

    def __init__(self, text: bytes = b"leaf") -> None:
        super().__init__()
        self.text = text

    def render_GET(self, request: Any) -> bytes:
        return self.text


class FewerArguments:
    """Each per-request hook takes fewer arguments than its spec, as pluggy allows."""

    def __init__(self) -> None:
        self.started = 0
        self.finished: list[bytes] = []

    @hookimpl
    def plugserve_request_started(self) -> None:
        self.started += 1

    @hookimpl
    def plugserve_get_child(self, name: bytes) -> Resource | None:
        return Leaf(b"few:" + name) if name.startswith(b"few") else None

    @hookimpl
    def plugserve_request_finished(self, request: Any) -> None:
        self.finished.append(request.uri)


class Wrappers:
    """A new-style wrapper of get_child and request_started, an old-style one of
    request_finished."""

    def __init__(self) -> None:
        self.outcomes: list[tuple[bytes, bool]] = []

    @hookimpl(wrapper=True)
    def plugserve_get_child(self, name: bytes) -> Generator[None, Any, Any]:
        child = yield
        if child is None and name == b"wrapped":
            return Leaf(b"from the wrapper")
        return child

    @hookimpl(wrapper=True)
    def plugserve_request_started(self, request: Any) -> Generator[None, None, None]:
        yield
        request.setHeader(b"x-wrapped", b"after the others")

    @hookimpl(hookwrapper=True)
    def plugserve_request_finished(self, request: Any) -> Generator[None, Any, None]:
        outcome = yield
        self.outcomes.append((request.uri, outcome.exception is None))


def test_fewer_arguments_on_the_per_request_hooks(plugserve_server):
    plugin = FewerArguments()
    server = plugserve_server(Resource(), plugins=[plugin])
    assert server.get("/few-a").body == b"few:few-a"
    assert server.get("/other").status == 404
    server.call(lambda: None)  # the finished hooks ran on the loop before this returns
    assert plugin.started == 2
    assert plugin.finished == [b"/few-a", b"/other"]


def test_wrappers_of_both_styles_around_per_request_hooks(plugserve_server):
    few, wrappers = FewerArguments(), Wrappers()
    server = plugserve_server(Resource(), plugins=[few, wrappers])
    wrapped = server.get("/wrapped")
    assert wrapped.body == b"from the wrapper"
    assert wrapped.header("X-Wrapped") == "after the others"
    assert server.get("/few-b").body == b"few:few-b"  # the wrapper passes the child through
    server.call(lambda: None)
    assert wrappers.outcomes == [(b"/wrapped", True), (b"/few-b", True)]
    assert few.started == 2


def test_per_request_hooks_stay_direct_calls_when_they_can():
    class Exact:
        @hookimpl
        def plugserve_request_started(self, request: Any) -> None:
            pass

    pm = make_plugin_manager()
    exact = Exact()
    pm.register(exact)
    pm.register(FewerArguments())
    hooks = Hooks(pm)
    assert isinstance(hooks.get_child, type(lambda: None))  # an adapter, not pluggy's caller
    assert isinstance(hooks.request_started, pluggy.HookCaller)  # two implementations
    only_exact = make_plugin_manager()
    only_exact.register(exact)
    assert Hooks(only_exact).request_started == exact.plugserve_request_started
    wrapped = make_plugin_manager()
    wrapped.register(Wrappers())
    assert isinstance(Hooks(wrapped).get_child, pluggy.HookCaller)


def test_processors_with_fewer_arguments_and_wrappers():
    class NoConfig:
        @hookimpl
        def plugserve_processors(self) -> dict[str, object]:
            return {".few": Leaf}

    class Adds:
        @hookimpl(wrapper=True)
        def plugserve_processors(self, config: Config) -> Generator[None, Any, Any]:
            results = yield
            return [*results, {".added": Resource}]

    class Drops:
        @hookimpl(hookwrapper=True)
        def plugserve_processors(self) -> Generator[None, Any, None]:
            outcome = yield
            outcome.force_result([r for r in outcome.get_result() if ".few" not in r])

    pm = make_plugin_manager()
    pm.register(NoConfig())
    assert Hooks(pm).processors(Config()) == {".few": Leaf}
    pm.register(Adds())
    assert Hooks(pm).processors(Config()) == {".few": Leaf, ".added": Resource}
    pm.register(Drops())
    assert Hooks(pm).processors(Config()) == {".added": Resource}


def test_a_clash_added_by_a_wrapper_names_it():
    class One:
        @hookimpl
        def plugserve_processors(self) -> dict[str, object]:
            return {".x": Leaf}

    class Clashing:
        @hookimpl(wrapper=True)
        def plugserve_processors(self) -> Generator[None, Any, Any]:
            results = yield
            return [*results, {".x": Resource}]

    pm = make_plugin_manager()
    pm.register(One(), name="one")
    pm.register(Clashing(), name="clash")
    with pytest.raises(Exception, match=r"plugins 'one' and a wrapper in 'clash' both handle"):
        Hooks(pm).processors(Config())


WRAPPING_PLUGIN = '''
from plugserve import hookimpl
from plugserve.resource import Resource

class Hello(Resource):
    isLeaf = True
    def render_GET(self, request):
        return b"hello " + request.uri

class Wrapped(Resource):
    isLeaf = False
    def __init__(self, inner):
        super().__init__()
        self.inner = inner
    def getChildWithDefault(self, name, request):
        request.setHeader(b"x-root-wrapped", b"1")
        return self.inner

@hookimpl
def plugserve_add_options(group):
    group.add_argument("--greet", action="store_true")

@hookimpl
def plugserve_configure():
    pass

@hookimpl
def plugserve_make_root(config):
    return Hello() if config.option("greet") else None

@hookimpl(wrapper=True)
def plugserve_make_root():
    root = yield
    return None if root is None else Wrapped(root)

@hookimpl(hookwrapper=True)
def plugserve_request_started(request):
    yield
    request.setHeader(b"x-old-style", b"1")
'''


def test_command_line_plugin_with_wrappers_and_fewer_arguments(tmp_path):
    # `plugserve_make_root` twice in one module is not possible; the wrapper lives in a second.
    plain, wrapper = WRAPPING_PLUGIN.split("@hookimpl(wrapper=True)")
    (tmp_path / "greeting_plugin.py").write_text(plain)
    (tmp_path / "wrapping_plugin.py").write_text(
        "from greeting_plugin import Wrapped\nfrom plugserve import hookimpl\n"
        "@hookimpl(wrapper=True)" + wrapper
        + "@hookimpl\ndef plugserve_add_options():\n    pass\n"  # no option group wanted
        + "@hookimpl\ndef plugserve_request_finished():\n    pass\n"
    )
    env = {"PYTHONPATH": str(tmp_path)}
    args = ["--plugin", "greeting_plugin", "--plugin", "wrapping_plugin", "--greet",
            "--listen", LOOPBACK]
    with running(args, env=env) as server:
        status, headers, body = fetch(server.url + "/there")
    assert (status, body) == (200, b"hello /there")
    assert headers["X-Root-Wrapped"] == "1" and headers["X-Old-Style"] == "1"


@pytest.mark.parametrize(
    ("hook", "reason"),
    [("plugserve_add_options(group)", "once for each plugin"),
     ("plugserve_configure(config)", "historic")],
)
def test_wrappers_of_unwrappable_hooks_are_refused_at_load_time(tmp_path, hook, reason):
    (tmp_path / "wrapping_options.py").write_text(
        "from plugserve import hookimpl\n"
        f"@hookimpl(wrapper=True)\ndef {hook}:\n    yield\n"
    )
    fake_distribution(tmp_path, "plugserve-wrapping", {"wrapping": "wrapping_options"})
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = plugserve_command("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    record = {r["name"]: r for r in json.loads(result.stdout)}["wrapping"]
    assert record["status"] == "failed"
    assert f"{hook.split('(')[0]} cannot be a hook wrapper" in record["error"]
    assert reason in record["error"] and "make it a plain @hookimpl" in record["error"]
    served = plugserve_command("--hello", "x", "--listen", "tcp:notaport", env=env)
    assert "plugin 'wrapping' failed to load" in served.stderr  # and the others still load
