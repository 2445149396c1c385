"""`--plugin NAME` resolution, and what an option of a missing plugin says, through the real
command."""

from __future__ import annotations

import argparse
import json
import os

import pytest
from plugserve._known import KNOWN_PLUGINS
from plugserve._plugins import call_impl, load_plugins, make_plugin_manager

from tests.cli_helpers import LOOPBACK, plugserve_command, running
from tests.test_cli import fetch

HOOKED_MODULE = (
    "from plugserve import hookimpl\n"
    "from plugserve.resource import Resource\n"
    "class R(Resource):\n"
    "    isLeaf = True\n"
    "    def render_GET(self, request):\n"
    "        return b'the local module'\n"
    "@hookimpl\n"
    "def plugserve_make_root(config):\n"
    "    return R()\n"
)


@pytest.mark.parametrize("name", ["json", "csv"])
def test_a_module_without_hooks_is_a_usage_error(name):
    for args in (["--plugin", name], ["plugins", "--json", "--plugin", name]):
        result = plugserve_command(*args)
        assert result.returncode == 2, result.stdout
        assert f"--plugin {name}: no installed plugin is named {name!r} (installed: " in (
            result.stderr)
        assert "implements no plugserve hook" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_first_party_name_is_never_a_standard_library_module():
    # The standard library has a `cgi` module up to Python 3.12: it must not stand in for
    # the cgi plugin. Installed, `--plugin cgi` is the entry point; a first-party plugin that
    # is not installed says how to install it.
    result = plugserve_command("plugins", "--json", "--plugin", "cgi")
    assert result.returncode == 0, result.stderr
    (record,) = [r for r in json.loads(result.stdout) if r["name"] == "cgi"]
    assert (record["module"], record["origin"]) == ("plugserve_cgi._plugin", "entry point")
    redis = plugserve_command("plugins", "--plugin", "redis")  # no module of that name
    assert redis.returncode == 2 and "pip install ./plugins/redis" in redis.stderr
    assert ("--plugin redis: the redis plugin is not installed (distribution "
            "plugserve-redis): from a plugserve checkout, pip install ./plugins/redis"
            ) in redis.stderr


def test_an_installed_entry_point_wins_over_a_module_of_the_same_name(tmp_path):
    (tmp_path / "example.py").write_text(HOOKED_MODULE)
    (tmp_path / "local_root.py").write_text(HOOKED_MODULE)
    result = plugserve_command("plugins", "--json", "--plugin", "example", "--plugin",
                               "local_root", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    named = [(r["name"], r["module"], r["origin"], r["status"]) for r in records
             if r["name"] in ("example", "local_root")]
    assert named == [("example", "plugserve_example._plugin", "entry point", "loaded"),
                     ("local_root", "local_root", "--plugin", "loaded")]
    with running(["--plugin", "example", "--hello", "from the entry point",
                  "--listen", LOOPBACK], cwd=tmp_path) as server:
        assert b"from the entry point" in fetch(server.url + "/")[2]


def test_plugin_and_no_plugin_of_one_name_contradict():
    result = plugserve_command("--plugin", "example", "--no-plugin", "example")
    assert result.returncode == 2
    assert "--plugin example and --no-plugin example contradict each other" in result.stderr


def test_every_option_of_an_installed_first_party_plugin_is_in_the_table():
    pm = make_plugin_manager()
    load_plugins(pm)
    checked = set()
    for impl in pm.hook.plugserve_add_options.get_hookimpls():
        known = KNOWN_PLUGINS.get(impl.plugin_name)
        if known is None:
            continue
        parser = argparse.ArgumentParser(add_help=False)
        call_impl(impl, group=parser.add_argument_group())
        options = {o for action in parser._actions for o in action.option_strings}
        assert options == set(known.options), impl.plugin_name
        checked.add(impl.plugin_name)
    assert checked >= {"static", "rpy", "wsgi", "proxy", "vhost", "cgi", "distrib"}


@pytest.mark.parametrize(
    ("args", "plugin"),
    [(["--session-store", "redis://127.0.0.1"], "redis")],
)
def test_an_option_of_a_plugin_not_installed_names_its_distribution(args, plugin):
    result = plugserve_command(*args)
    option = args[0].split("=")[0]
    assert result.returncode == 2
    assert (f"plugserve: error: {option} needs the {plugin} plugin (distribution plugserve-"
            f"{plugin}), which is not installed: from a plugserve checkout, pip install "
            f"./plugins/{plugin}") in result.stderr
    assert "unrecognized arguments" not in result.stderr


def test_an_option_of_a_disabled_plugin_says_how_to_enable_it(tmp_path):
    blocked = plugserve_command("--no-plugin", "static", "--path", str(tmp_path))
    assert blocked.returncode == 2
    assert ("--path needs the static plugin (distribution plugserve-static), which is installed, "
            "but --no-plugin static disabled it: drop that option") in blocked.stderr
    vhost = plugserve_command("--no-plugin", "vhost", "--vhost", "a.example=DIR")
    assert vhost.returncode == 2
    assert ("--vhost needs the vhost plugin (distribution plugserve-vhost), which is installed, "
            "but --no-plugin vhost disabled it: drop that option") in vhost.stderr
    env = {**os.environ, "PLUGSERVE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    off = plugserve_command("--mime-type", ".x=text/plain", env=env)
    assert off.returncode == 2
    assert ("--mime-type needs the static plugin (distribution plugserve-static), which is "
            "installed, but not loaded since PLUGSERVE_DISABLE_PLUGIN_AUTOLOAD is set: add "
            "--plugin static") in off.stderr
    nothing = plugserve_command("--no-plugin", "static", cwd=tmp_path)
    assert "plugin 'static' (installed, but --no-plugin static disabled it" in nothing.stderr
