"""Finding, loading and calling plugins.

Our own loader rather than pluggy's `load_setuptools_entrypoints`, which stops at the first
broken plugin and silently drops duplicate names: every entry point of the group `plugserve` is
loaded in its own try/except and leaves a record (loaded / failed / blocked / duplicate) that
`plugserve plugins` prints.  `Hooks` wraps the plugin manager in typed calls; the per-request
hooks are resolved once to the bare function when a single plugin implements them, or to None
when none does, so a request pays nothing for hooks nobody uses.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

import pluggy

from . import hookspecs
from .error import UsageError
from .mounts import Mount, merge_mounts

if TYPE_CHECKING:
    from .config import Config
    from .encoders import EncoderFactory
    from .resource import IResource
    from .session import SessionStore

__all__ = ["Hooks", "PluginRecord", "load_plugins", "make_plugin_manager"]

GROUP = "plugserve"
AUTOLOAD_ENV = "PLUGSERVE_DISABLE_PLUGIN_AUTOLOAD"

#: First-party plugins: what option makes each serve, and what to install for it.
KNOWN_PLUGINS: dict[str, tuple[str, str]] = {
    "static": ("--path DIR", "plugserve-static"),
    "rpy": ("--resource-script FILE.rpy", "plugserve-rpy"),
    "wsgi": ("--wsgi module:app", "plugserve-wsgi"),
    "proxy": ("--plugin proxy / --reverse-proxy URL", "plugserve-proxy"),
    "vhost": ("--vhost NAME=DIR", "plugserve-vhost"),
    "cgi": ("--cgi-dir URL=DIR", "plugserve-cgi"),
}


@dataclass
class PluginRecord:
    """What happened to one plugin at start-up."""

    name: str
    module: str
    distribution: str = ""
    version: str = ""
    status: str = "loaded"
    error: str = ""
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (for `plugserve plugins --json`)."""
        return {
            "name": self.name, "distribution": self.distribution, "version": self.version,
            "module": self.module, "status": self.status, "error": self.error,
            "hooks": self.hooks,
        }


def make_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager with the hook specs and the core's defaults registered."""
    from ._defaults import CoreDefaults

    pm = pluggy.PluginManager("plugserve")
    pm.add_hookspecs(hookspecs)
    pm.register(CoreDefaults(), name="core")
    return pm


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return sorted(importlib.metadata.entry_points(group=GROUP), key=lambda ep: ep.name)


def load_plugins(
    pm: pluggy.PluginManager,
    *,
    requested: Sequence[str] = (),
    blocked: Iterable[str] = (),
    autoload: bool | None = None,
) -> list[PluginRecord]:
    """Load installed plugins (unless autoload is off) and the `--plugin` ones; record each."""
    if autoload is None:
        autoload = os.environ.get(AUTOLOAD_ENV, "") not in ("1", "true", "yes")
    blocked = set(blocked)
    for name in blocked:
        pm.set_blocked(name)
    records: list[PluginRecord] = []
    seen: dict[str, PluginRecord] = {}
    for ep in _entry_points():
        dist = getattr(ep, "dist", None)
        record = PluginRecord(
            ep.name, ep.value,
            distribution=dist.metadata["Name"] if dist is not None else "",
            version=dist.version if dist is not None else "",
        )
        records.append(record)
        if ep.name in seen:
            record.status = "duplicate"
            record.error = f"another plugin named {ep.name!r} ({seen[ep.name].module}) was loaded"
            continue
        seen[ep.name] = record
        if ep.name in blocked:
            record.status = "blocked"
            continue
        if not autoload and ep.name not in requested:
            record.status = "not loaded (autoload disabled)"
            continue
        _load(pm, record, ep.load)
    for name in requested:
        if name in seen and seen[name].status == "failed":
            raise UsageError(f"--plugin {name}: the plugin failed to load: {seen[name].error}")
        if name in seen or name in blocked:
            continue
        record = PluginRecord(name, name)
        records.append(record)
        _load(pm, record, lambda name=name: importlib.import_module(name))  # type: ignore[misc]
        if record.status == "failed":
            raise UsageError(
                f"--plugin {name}: not an installed plugin's name, and as a module it failed: "
                f"{record.error}"
            )
    pm.check_pending()
    return records


def _load(pm: pluggy.PluginManager, record: PluginRecord, loader: Callable[[], object]) -> None:
    try:
        plugin = loader()
        pm.register(plugin, name=record.name)
    except Exception as exc:  # noqa: BLE001 - one broken plugin must not stop the others
        record.status = "failed"
        record.error = f"{type(exc).__name__}: {exc}"
        return
    unknown = [
        caller.name
        for caller in pm.get_hookcallers(plugin) or ()
        if caller.spec is None
        and not any(i.optionalhook for i in caller.get_hookimpls() if i.plugin is plugin)
    ]
    if unknown:
        pm.unregister(plugin)
        record.status = "failed"
        record.error = f"unknown hook(s) {', '.join(sorted(unknown))} (a typo?)"
        return
    record.status = "loaded"
    record.hooks = sorted(
        caller.name for caller in pm.get_hookcallers(plugin) or () if caller.name
    )


def _direct(caller: pluggy.HookCaller) -> Callable[..., Any] | None:
    """The cheapest way to call a hook: None if unimplemented, the function if one plugin has it."""
    impls = caller.get_hookimpls()
    if not impls:
        return None
    impl = impls[0]
    spec = caller.spec
    if (
        len(impls) == 1
        and not impl.hookwrapper
        and not impl.wrapper
        and spec is not None
        and tuple(impl.argnames) == tuple(spec.argnames)
    ):
        return impl.function
    return caller


class Hooks:
    """Typed calls into the plugins of one server run."""

    def __init__(self, pm: pluggy.PluginManager, selected: Sequence[str] = ()) -> None:
        self.pm = pm
        self.selected = list(selected)
        hook = pm.hook
        self.get_child = _direct(hook.plugserve_get_child)
        self.request_started = _direct(hook.plugserve_request_started)
        self.request_finished = _direct(hook.plugserve_request_finished)

    def configure(self, config: Config) -> None:
        """Tell every plugin the configuration (historic: late plugins hear it too)."""
        self.pm.hook.plugserve_configure.call_historic(kwargs={"config": config})

    async def unconfigure(self, config: Config) -> None:
        """Shut plugins down, awaiting what they return."""
        for result in self.pm.hook.plugserve_unconfigure(config=config):
            if result is not None:
                await result

    def make_root(self, config: Config) -> IResource | None:
        """The root from the selected plugins first, then from any plugin."""
        hook = self.pm.hook.plugserve_make_root
        if self.selected:
            others = [p for n, p in self.pm.list_name_plugin() if n not in self.selected]
            root = self.pm.subset_hook_caller("plugserve_make_root", others)(config=config)
            if root is not None:
                return root  # type: ignore[no-any-return]
        return hook(config=config)  # type: ignore[no-any-return]

    def processors(self, config: Config) -> dict[str, Any]:
        """Extension -> processor factory from every plugin; a clash names both plugins."""
        merged: dict[str, Any] = {}
        owner: dict[str, str] = {}
        for impl in reversed(self.pm.hook.plugserve_processors.get_hookimpls()):
            result = cast("Mapping[str, Any]", impl.function(config=config) or {})
            for ext, factory in result.items():
                if ext in merged and merged[ext] is not factory:
                    raise UsageError(
                        f"plugins {owner[ext]!r} and {impl.plugin_name!r} both handle {ext!r} "
                        "files; disable one with --no-plugin NAME"
                    )
                merged[ext] = factory
                owner[ext] = impl.plugin_name
        return merged

    def with_processors(self, config: Config) -> Config:
        """`config` with `processors` filled from every plugin (done before make_root, so a
        file-serving plugin applies what the others contribute) and `hook` set, so that
        plugins can ask each other (`config.directory_resource`); a clash raises UsageError."""
        return dataclasses.replace(config, processors=MappingProxyType(self.processors(config)),
                                   hook=self.pm.hook)

    def mounts(self, config: Config) -> list[Mount]:
        """Every plugin's `plugserve_mounts`, merged; a prefix two plugins mount names both.
        Each plugin is called on its own through pluggy, to know whose mount is whose."""
        plugins = self.pm.get_plugins()
        contributions: list[tuple[str, Mapping[str, IResource]]] = []
        for impl in self.pm.hook.plugserve_mounts.get_hookimpls():  # in registration order
            others = [p for p in plugins if p is not impl.plugin]
            caller = self.pm.subset_hook_caller("plugserve_mounts", others)
            contributions.extend((impl.plugin_name, result) for result in caller(config=config))
        return merge_mounts(contributions)

    def encoders(self, config: Config) -> dict[str, EncoderFactory]:
        """Coding token ("gzip") -> encoder factory, merged in registration order, so a
        plugin's factory replaces the core's default for the same coding."""
        factories: dict[str, EncoderFactory] = {}
        for result in reversed(self.pm.hook.plugserve_encoders(config=config)):
            for factory in result or ():
                factories[getattr(factory, "encoding", b"").decode()] = factory
        return factories

    def rewrite_rules(self, config: Config) -> list[Callable[..., None]]:
        """Every rewrite rule, flattened."""
        rules: list[Callable[..., None]] = []
        for result in reversed(self.pm.hook.plugserve_rewrite_rules(config=config)):
            rules.extend(result or ())
        return rules

    def session_store(self, config: Config | None = None) -> SessionStore | None:
        """The session store the plugins chose."""
        from .config import Config as _Config

        return self.pm.hook.plugserve_session_store(  # type: ignore[no-any-return]
            config=config or _Config()
        )

