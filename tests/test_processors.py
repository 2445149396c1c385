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
