"""The plugin's hooks: options, checks, the root for --path, processors from other plugins."""

from __future__ import annotations

import subprocess
import sys
from types import MappingProxyType
from typing import Any

import pytest
from plugserve import Config, hookimpl
from plugserve.error import UsageError
from plugserve.testing import plugin_hooks
from plugserve_static import ASISProcessor, File, _plugin


def _config(**options):
    return Config(options=MappingProxyType(options))


class Shouter:
    """Another plugin contributing a processor."""

    @hookimpl
    def plugserve_processors(self, config):
        return {".shout": File}


def test_make_root_applies_every_option(tree):
    config = _config(path=str(tree), index=["home.html"], mime_type=[".log=text/x-log"],
                     ignore_ext=[".html"], allow_ignore_ext=True, no_listing=True,
                     serve_dotfiles=True, no_symlinks_outside_root=True, precompressed=True,
                     file_cache_size=1000)
    hooks = plugin_hooks(_plugin, Shouter(), config=config)
    root = _plugin.plugserve_make_root(hooks.with_processors(config))
    assert isinstance(root, File)
    assert root.indexNames == ["home.html"]
    assert root.contentTypes[".log"] == "text/x-log"
    assert root.ignoredExts == [".html", "*"]
    assert root.processors == {".asis": ASISProcessor, ".shout": File}
    assert (root.allowListing, root.serveDotfiles) == (False, True)
    assert (root.confineSymlinks, root.precompressed) == (True, True)
    assert root.fileCache.max_bytes == 1000


def test_no_path_no_root():
    assert _plugin.plugserve_make_root(_config()) is None


def test_the_directory_hook_is_the_path_root_for_any_folder(tree, tmp_path):
    options = {"index": ["home.html"], "mime_type": [".log=text/x-log"], "no_listing": True,
               "precompressed": True, "file_cache_size": 1000}
    config = _config(path=str(tree), **options)
    hooks = plugin_hooks(_plugin, Shouter(), config=config)
    config = hooks.with_processors(config)
    root = _plugin.plugserve_make_root(config)
    other = config.directory_resource(str(tmp_path))  # through the hook, as plugins ask
    assert isinstance(root, File) and isinstance(other, File)
    assert other.path == str(tmp_path)
    for name in ("indexNames", "contentTypes", "ignoredExts", "processors", "allowListing",
                 "serveDotfiles", "confineSymlinks", "precompressed"):
        assert getattr(other, name) == getattr(root, name), name
    assert other.fileCache is root.fileCache  # one bound for the run's folders
    assert other.fileCache.max_bytes == 1000
    assert root.confineSymlinks is False
    contained: Any = config.directory_resource(str(tmp_path), contained=True)
    assert contained.confineSymlinks is True  # whatever the run's options say
    fresh: Any = _plugin.plugserve_directory_resource(str(tmp_path), _config(), False)
    assert fresh.fileCache is not root.fileCache  # another run, another cache


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"path": "/no/such/dir"}, "--path /no/such/dir: no such", id="path"),
        pytest.param({"mime_type": ["nonsense"]}, "--mime-type nonsense", id="mime"),
        pytest.param({"file_cache_size": -1}, "--file-cache-size -1", id="cache"),
    ],
)
def test_configure_refuses(options, message):
    with pytest.raises(UsageError, match=message):
        _plugin.plugserve_configure(_config(**options))


def test_served_through_the_hooks(serve, tree):
    config_options = {"path": str(tree), "no_listing": True}
    root = _plugin.plugserve_make_root(_config(**config_options))
    server = serve(root, plugins=[_plugin], options=config_options)
    assert server.get("/hello.txt").body == b"hello world\n"
    assert server.get("/sub/").status == 403


def test_command_line_help_and_bad_path(tmp_path):
    help_text = subprocess.run([sys.executable, "-m", "plugserve", "--help"],
                               capture_output=True, text=True, check=True).stdout
    for option in ("--path DIR", "--index NAME", "--mime-type EXT=TYPE", "--ignore-ext EXT",
                   "--allow-ignore-ext", "--no-listing", "--serve-dotfiles",
                   "--no-symlinks-outside-root", "--precompressed", "--no-sendfile",
                   "--file-cache-size BYTES"):
        assert option in help_text, option
    bad = subprocess.run([sys.executable, "-m", "plugserve", "--path", str(tmp_path / "nope")],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "no such directory or file" in bad.stderr and "Traceback" not in bad.stderr
