"""The plugin's hooks and the `--wsgi` spec parser, called directly."""

from __future__ import annotations

import re
import sys
from types import MappingProxyType

import pytest
from plugserve import Config
from plugserve.error import UsageError
from plugserve.testing import plugin_hooks
from plugserve_wsgi import WSGIResource, _plugin
from plugserve_wsgi._spec import AppSpec, load_application, parse_spec
from plugserve_wsgi._threads import default_threads
from wsgi_support import fetch

MODULE = "wsgi_plugin_test_module"


def _config(**options):
    return Config(options=MappingProxyType(options))


@pytest.fixture
def module(tmp_path, monkeypatch):
    (tmp_path / f"{MODULE}.py").write_text(
        "from wsgiref.validate import validator\n"
        "@validator\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'via the hooks']\n"
        "calls = []\n"
        "def factory(*args, **kw):\n"
        "    calls.append((args, kw))\n"
        "    return app\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield MODULE
    sys.modules.pop(MODULE, None)


@pytest.mark.parametrize(("text", "expected"), [
    ("m:app", AppSpec("m:app", "m", ("app",))),
    ("pkg.mod:obj.attr", AppSpec("pkg.mod:obj.attr", "pkg.mod", ("obj", "attr"))),
    ("pkg.mod.app", AppSpec("pkg.mod.app", None, ("pkg", "mod", "app"))),
    ("m:make()", AppSpec("m:make()", "m", ("make",), ())),
    ("m:make(1, 'a', debug=True)",
     AppSpec("m:make(1, 'a', debug=True)", "m", ("make",), (1, "a"), (("debug", True),))),
    (" m:app ", AppSpec(" m:app ", "m", ("app",))),
])
def test_parse_spec(text, expected):
    assert parse_spec(text) == expected


@pytest.mark.parametrize("text", ["", "m", ":app", "m:", "m:1", "m:a+b", "m:f(*x)",
                                  "m:f(**x)", "m:f(x)", "m.f()", "a b:app", "m:app()()"])
def test_parse_spec_refuses(text):
    with pytest.raises(UsageError, match="--wsgi"):
        parse_spec(text)


def test_factory_is_called_once_at_make_root(module):
    config = _config(wsgi=f"{module}:factory('x', y=2)")
    _plugin.plugserve_configure(config)  # checks, does not call the factory
    loaded = sys.modules[module]
    assert loaded.calls == []
    root = _plugin.plugserve_make_root(config)
    assert isinstance(root, WSGIResource)
    assert loaded.calls == [(("x",), {"y": 2})]
    _plugin.plugserve_unconfigure(config)


def test_make_root_pool_size(module):
    root = _plugin.plugserve_make_root(_config(wsgi=f"{module}:app", wsgi_threads=3))
    assert isinstance(root, WSGIResource)
    assert root.executor._max_workers == 3  # type: ignore[attr-defined]
    default = _plugin.plugserve_make_root(_config(wsgi=f"{module}:app"))
    assert default.executor._max_workers == default_threads()  # type: ignore[union-attr]
    _plugin.plugserve_unconfigure(_config())
    with pytest.raises(RuntimeError):  # the pools are shut down
        root.executor.submit(print)


def test_prefixed_wsgi_is_a_mount_with_its_own_pool(module):
    config = _config(wsgi=[f"/app={module}:app", f"{module}:factory()",
                           f"/api/v1/={module}:app"], wsgi_threads=2)
    _plugin.plugserve_configure(config)
    mounts = _plugin.plugserve_mounts(config)
    assert list(mounts) == ["/app", "/api/v1"]
    root = _plugin.plugserve_make_root(config)
    assert isinstance(root, WSGIResource)
    executors = {id(r.executor) for r in (root, *mounts.values())}  # type: ignore[attr-defined]
    assert len(executors) == 3
    _plugin.plugserve_unconfigure(config)
    assert _plugin.plugserve_mounts(_config()) == {}
    assert _plugin.plugserve_mounts(_config(wsgi=f"{module}:app")) == {}


@pytest.mark.parametrize(("values", "message"), [
    (["m:app", "m:other"], "--wsgi m:other: --wsgi m:app is served at the root"),
    (["/a=m:app", "/a/=m:other"], "--wsgi /a/=m:other: --wsgi m:app is served under /a"),
    (["/a/../b=m:app"], "the prefix '/a/../b' is not a URL path: it has a '..' segment"),
])
def test_prefixed_wsgi_refuses(values, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        _plugin.plugserve_configure(_config(wsgi=values))


def test_no_wsgi_no_root():
    assert _plugin.plugserve_make_root(_config()) is None
    _plugin.plugserve_configure(_config())


def test_load_application_errors(module):
    with pytest.raises(UsageError, match="has no attribute 'nope'"):
        load_application(parse_spec(f"{module}:nope"))
    with pytest.raises(UsageError, match="the factory returned int"):
        load_application(parse_spec("builtins:len('abc')"))


def test_served_through_the_hooks(module, plugserve_server):
    config = _config(wsgi=f"{module}:app")
    hooks = plugin_hooks(_plugin, config=config)
    root = hooks.make_root(config)
    assert isinstance(root, WSGIResource)
    server = plugserve_server(root, hooks=hooks)
    assert fetch(server, "GET", "/anything").body == b"via the hooks"
    _plugin.plugserve_unconfigure(config)
