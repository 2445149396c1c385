"""The first-party plugins, and what to tell a user whose command line needs one that is missing.

One table: each plugin's distribution, the line that says how it serves, and every option it
adds (those of the plugins not written yet too, from DESIGN.md §7).  With it, `plugserve --path
DIR` with only the core installed says which distribution gives `--path` and how to install it
from a checkout, instead of argparse's "unrecognized arguments"; and `--plugin cgi` does not
load the standard library's `cgi` module in place of the plugin.  None of these distributions
is on a package index, so every hint is a path in a plugserve checkout.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._plugins import PluginRecord

__all__ = ["KNOWN_PLUGINS", "KnownPlugin", "missing_option", "not_installed", "plugin_state"]

AUTOLOAD_ENV = "PLUGSERVE_DISABLE_PLUGIN_AUTOLOAD"


@dataclass(frozen=True)
class KnownPlugin:
    """A first-party plugin: its entry-point name, distribution, how it serves ("" for one
    that serves nothing on its own, such as a session store), and its options."""

    name: str
    distribution: str
    serves: str
    options: tuple[str, ...]
    #: Other first-party plugins its distribution depends on (installed from the checkout too).
    requires: tuple[str, ...] = ()

    @property
    def install(self) -> str:
        """How to install it: from a checkout, since no package index has it."""
        paths = " ".join(f"./plugins/{name}" for name in (*self.requires, self.name))
        return f"from a plugserve checkout, pip install {paths}"


def _table(*plugins: KnownPlugin) -> Mapping[str, KnownPlugin]:
    return {plugin.name: plugin for plugin in plugins}


#: Entry-point name -> the plugin; tests/test_known_plugins.py checks that every option an
#: installed first-party plugin adds is listed here.
KNOWN_PLUGINS: Mapping[str, KnownPlugin] = _table(
    KnownPlugin("static", "plugserve-static", "--path DIR", (
        "--path", "--index", "--mime-type", "--ignore-ext", "--allow-ignore-ext",
        "--no-listing", "--serve-dotfiles", "--no-symlinks-outside-root", "--precompressed",
        "--file-cache-size",
    )),
    KnownPlugin("rpy", "plugserve-rpy", "--resource-script FILE.rpy", ("--resource-script",),
                requires=("static",)),
    KnownPlugin("wsgi", "plugserve-wsgi", "--wsgi module:app", ("--wsgi", "--wsgi-threads")),
    KnownPlugin("proxy", "plugserve-proxy", "--plugin proxy / --reverse-proxy URL", (
        "--reverse-proxy", "--proxy-connect-timeout", "--proxy-timeout", "--proxy-pool-size",
        "--proxy-idle-timeout", "--proxy-allow-client", "--proxy-allow-destination",
        "--proxy-connect-ports", "--no-forwarded-headers",
    )),
    KnownPlugin("vhost", "plugserve-vhost", "--vhost NAME=DIR", (
        "--vhost", "--vhost-default", "--vhost-dir", "--vhost-dir-refresh", "--trust-forwarded",
    )),
    KnownPlugin("cgi", "plugserve-cgi", "--cgi-dir /cgi-bin=DIR / --php", (
        "--cgi-dir", "--cgi-ext", "--php", "--php-cgi", "--cgi-timeout", "--cgi-env",
        "--cgi-stderr-max", "--cgi-spool-max", "--cgi-header-max",
    )),
    KnownPlugin("distrib", "plugserve-distrib", "--user / --personal", (
        "--user", "--personal", "--user-timeout", "--user-connect-timeout",
        "--user-max-concurrent", "--user-follow-symlinks",
    )),
    KnownPlugin("redis", "plugserve-redis", "",
                ("--session-store",)),
)

_OWNER: Mapping[str, KnownPlugin] = {
    option: plugin for plugin in KNOWN_PLUGINS.values() for option in plugin.options
}


def _entry_point_record(name: str, records: Sequence[PluginRecord]) -> PluginRecord | None:
    """The record of the installed plugin `name` (an entry point, not a `--plugin` module)."""
    for record in records:
        if record.name == name and record.origin == "entry point" and record.status != "duplicate":
            return record
    return None


def plugin_state(plugin: KnownPlugin, records: Sequence[PluginRecord]) -> str:
    """Why `plugin` is or is not serving, in a few words ending in what to do about it."""
    record = _entry_point_record(plugin.name, records)
    if record is None:
        return f"not installed: {plugin.install}"
    if record.status == "loaded":
        return "installed"
    if record.status == "blocked":
        return f"installed, but --no-plugin {plugin.name} disabled it: drop that option"
    if record.status == "failed":
        return f"installed, but it failed to load: {record.error}"
    return f"installed, but not loaded since {AUTOLOAD_ENV} is set: add --plugin {plugin.name}"


def not_installed(plugin: KnownPlugin) -> str:
    """The error for `--plugin NAME` naming a first-party plugin that is not installed."""
    return (f"--plugin {plugin.name}: the {plugin.name} plugin is not installed "
            f"(distribution {plugin.distribution}): {plugin.install}")


def missing_option(unknown: Sequence[str], records: Sequence[PluginRecord]) -> str | None:
    """The error for the first of `unknown` (arguments argparse did not recognise) that a
    first-party plugin adds when it is installed and loaded; None if there is none."""
    for argument in unknown:
        option = argument.split("=", 1)[0]
        plugin = _OWNER.get(option)
        if plugin is not None and not _loaded(plugin, records):
            state = plugin_state(plugin, records)
            return (f"{option} needs the {plugin.name} plugin (distribution "
                    f"{plugin.distribution}), which is {state}")
    return None


def _loaded(plugin: KnownPlugin, records: Sequence[PluginRecord]) -> bool:
    record = _entry_point_record(plugin.name, records)
    return record is not None and record.status == "loaded"


def autoload_default() -> bool:
    """Whether installed plugins load without `--plugin` (unless the environment says not)."""
    return os.environ.get(AUTOLOAD_ENV, "") not in ("1", "true", "yes")
