"""`Hooks.with_processors`: the merged processors reach make_root through `config.processors`."""

from __future__ import annotations

import pytest
from plugserve import Config, hookimpl
from plugserve.error import UsageError
from plugserve.testing import plugin_hooks


class A:
    @hookimpl
    def plugserve_processors(self, config):
        return {".a": str}


class B:
    @hookimpl
    def plugserve_processors(self, config):
        return {".a": repr}


def test_processors_reach_the_config():
    config = Config()
    assert plugin_hooks(A(), config=config).with_processors(config).processors == {".a": str}


def test_a_config_of_its_own_has_none():
    assert dict(Config().processors) == {}


def test_clash_names_both_plugins():
    config = Config()
    with pytest.raises(UsageError, match=r"both handle '\.a'"):
        plugin_hooks(A(), B(), config=config).with_processors(config)


class IndexA:
    @hookimpl
    def plugserve_index_names(self, config):
        return ["index.php", "index.pl"]


class IndexB:
    @hookimpl
    def plugserve_index_names(self, config):
        return ["index.pl", "default.cgi"]


def test_index_names_are_merged_in_registration_order_once_each():
    config = Config()
    hooks = plugin_hooks(IndexA(), IndexB(), config=config)
    assert hooks.with_processors(config).index_names == ("index.php", "index.pl", "default.cgi")


def test_index_names_follow_the_defaults_of_a_served_folder(tmp_path):
    from plugserve_static import File
    from plugserve_static._options import directory_resource

    config = plugin_hooks(IndexA(), config=Config()).with_processors(Config())
    root = directory_resource(str(tmp_path), config)
    assert isinstance(root, File)
    assert root.indexNames == ["index", "index.html", "index.htm", "index.rpy", "index.php",
                               "index.pl"]
    replaced = Config(options={"index": ["home.html"]}, index_names=("index.php",))
    assert directory_resource(str(tmp_path), replaced).indexNames == ["home.html"]
