"""Finding, loading and calling plugins.

Our own loader rather than pluggy's `load_setuptools_entrypoints`, which stops at the first
broken plugin and silently drops duplicate names: every entry point of the group `plugserve` is
loaded in its own try/except and leaves a record (loaded / failed / blocked / duplicate) that
`plugserve plugins` prints.  `--plugin NAME` is an entry point's name first, else a module
that implements at least one hook.

`Hooks` wraps the plugin manager in typed calls that follow pluggy's rules: an implementation
may take fewer arguments than its spec, and wrappers (`wrapper=True`, `hookwrapper=True`) wrap
the one call the core makes, except on the hooks in UNWRAPPABLE, which refuse them at load
time.  The per-request hooks are resolved once to the bare function when a single plain
implementation has them, or to None when none does, so a request pays nothing for hooks nobody
uses.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

import pluggy

from . import hookspecs
from ._known import KNOWN_PLUGINS, autoload_default, not_installed
from .error import UsageError
from .mounts import Mount, merge_mounts

if TYPE_CHECKING:
    from .config import Config
    from .encoders import EncoderFactory
    from .resource import IResource
    from .session import SessionStore

__all__ = [
    "KNOWN_PLUGINS", "Hooks", "PluginRecord", "call_impl", "load_plugins", "make_plugin_manager",
]

GROUP = "plugserve"

#: Hooks the core calls once for each plugin rather than once for all of them, so that a pluggy
#: wrapper has no single call to wrap: a plugin that wraps one is refused at load time.
UNWRAPPABLE: Mapping[str, str] = MappingProxyType({
    "plugserve_add_options": "the core calls it once for each plugin, with that plugin's own "
                             "option group",
    "plugserve_configure": "it is historic (a plugin registered later is called with the "
                           "same config), and pluggy cannot wrap historic hooks",
})


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
    #: "entry point" (installed, group `plugserve`) or "--plugin" (a module named on the
    #: command line that is no installed plugin's name).
    origin: str = "entry point"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (for `plugserve plugins --json`)."""
        return {
            "name": self.name, "distribution": self.distribution, "version": self.version,
            "module": self.module, "status": self.status, "error": self.error,
            "hooks": self.hooks, "origin": self.origin,
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
    """Load installed plugins (unless autoload is off) and the `--plugin` ones; record each.

    `--plugin NAME` is an installed entry point's name first; any other NAME must be an
    importable module with at least one plugserve hook, else it is a UsageError."""
    if autoload is None:
        autoload = autoload_default()
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
    for name in dict.fromkeys(requested):
        if name in blocked:
            raise UsageError(f"--plugin {name} and --no-plugin {name} contradict each other; "
                             "drop one of them")
        if name in seen:
            if seen[name].status == "failed":
                raise UsageError(f"--plugin {name}: the plugin failed to load: {seen[name].error}")
            continue
        records.append(_requested_module(pm, name, sorted(seen)))
    pm.check_pending()
    return records


def _requested_module(pm: pluggy.PluginManager, name: str, installed: list[str]) -> PluginRecord:
    """`--plugin NAME` for a NAME no entry point has: the module NAME, if it has a hook."""
    known = KNOWN_PLUGINS.get(name)
    where = (f"no installed plugin is named {name!r} (installed: "
             f"{', '.join(installed) or 'none'}), and")
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if known is not None:
            raise UsageError(not_installed(known)) from None
        if exc.name == name or name.startswith(f"{exc.name}."):
            raise UsageError(f"--plugin {name}: {where} there is no module {name!r} to import "
                             "(the current directory is importable)") from None
        raise UsageError(f"--plugin {name}: {where} importing the module failed: "
                         f"{type(exc).__name__}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any error in the user's module is reported
        raise UsageError(f"--plugin {name}: {where} importing the module failed: "
                         f"{type(exc).__name__}: {exc}") from None
    if not _hook_names(pm, module):
        if known is not None:
            raise UsageError(not_installed(known))
        raise UsageError(
            f"--plugin {name}: {where} the module {name} "
            f"({getattr(module, '__file__', None) or 'built in'}) implements no plugserve hook "
            "(a function named plugserve_* decorated with plugserve.hookimpl)"
        )
    record = PluginRecord(name, name, origin="--plugin")
    _load(pm, record, lambda: module)
    if record.status == "failed":
        raise UsageError(f"--plugin {name}: the module failed to load as a plugin: "
                         f"{record.error}")
    return record


def _hook_names(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    """The plugserve_* attributes of `plugin` marked with the hookimpl marker."""
    return [
        attr for attr in dir(plugin)
        if attr.startswith("plugserve_") and pm.parse_hookimpl_opts(plugin, attr) is not None
    ]


def _refused_wrapper(pm: pluggy.PluginManager, plugin: object) -> str:
    """Why `plugin` cannot be registered as it is ("" if it can): it wraps an unwrappable hook."""
    for attr in _hook_names(pm, plugin):
        opts = pm.parse_hookimpl_opts(plugin, attr)
        if attr in UNWRAPPABLE and opts and (opts.get("wrapper") or opts.get("hookwrapper")):
            return (f"{attr} cannot be a hook wrapper: {UNWRAPPABLE[attr]}; make it a plain "
                    "@hookimpl")
    return ""


def _load(pm: pluggy.PluginManager, record: PluginRecord, loader: Callable[[], object]) -> None:
    try:
        plugin = loader()
        record.error = _refused_wrapper(pm, plugin)
        if record.error:
            record.status = "failed"
            return
        pm.register(plugin, name=record.name)
    except Exception as exc:  # noqa: BLE001 - one broken plugin must not stop the others
        record.status = "failed"
        record.error = f"{type(exc).__name__}: {exc}".replace("\n", " ")
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


def call_impl(impl: pluggy.HookImpl, **kwargs: Any) -> Any:
    """Call one implementation as pluggy would: with only the arguments it names (a plugin may
    take fewer than the spec), and those with defaults only when given."""
    extra = {name: kwargs[name] for name in impl.kwargnames if name in kwargs}
    return impl.function(*[kwargs[name] for name in impl.argnames], **extra)


def _direct(caller: pluggy.HookCaller) -> Callable[..., Any] | None:
    """The cheapest way to call a hook with keyword arguments, by pluggy's rules: None if no
    plugin implements it; the function itself, or a small adapter when it takes fewer
    arguments, if one plain implementation does; else the pluggy caller (wrappers, several
    implementations)."""
    impls = caller.get_hookimpls()
    if not impls:
        return None
    impl = impls[0]
    spec = caller.spec
    if len(impls) > 1 or impl.hookwrapper or impl.wrapper or spec is None or impl.kwargnames:
        return caller
    function = impl.function
    if tuple(impl.argnames) == tuple(spec.argnames):
        return function
    names = tuple(impl.argnames)
    return lambda **kwargs: function(*[kwargs[name] for name in names])


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

    def default_listen(self, config: Config) -> tuple[str, ...] | None:
        """The endpoints a plugin listens on by default, or None (tcp:8080)."""
        found = self.pm.hook.plugserve_default_listen(config=config)
        return tuple(found) if found else None

    def processors(self, config: Config) -> dict[str, Any]:
        """Extension -> processor factory from every plugin; a clash names both plugins.

        One pluggy call, so wrappers of the hook see and may change the dicts."""
        merged: dict[str, Any] = {}
        for result in reversed(self.pm.hook.plugserve_processors(config=config)):
            for ext, factory in cast("Mapping[str, Any]", result or {}).items():
                if ext in merged and merged[ext] is not factory:
                    raise UsageError(f"{self._owners(ext, config)} both handle {ext!r} files; "
                                     "disable one with --no-plugin NAME")
                merged[ext] = factory
        return merged

    def _owners(self, ext: str, config: Config) -> str:
        """Which plugins return a processor for `ext` (asked one by one, for the message)."""
        impls = self.pm.hook.plugserve_processors.get_hookimpls()
        names = [repr(impl.plugin_name) for impl in reversed(impls)
                 if not (impl.wrapper or impl.hookwrapper)
                 and ext in (call_impl(impl, config=config) or {})]
        wrappers = [repr(i.plugin_name) for i in impls if i.wrapper or i.hookwrapper]
        if len(names) < 2 and wrappers:
            names.append(f"a wrapper in {', '.join(wrappers)}")
        return "plugins " + " and ".join(names)

    def with_processors(self, config: Config) -> Config:
        """`config` with `processors` and `index_names` filled from every plugin (done before
        make_root, so a file-serving plugin applies what the others contribute) and `hook`
        set, so that plugins can ask each other (`config.directory_resource`); a clash of
        processors raises UsageError."""
        names = dict.fromkeys(name for result in reversed(
            self.pm.hook.plugserve_index_names(config=config)) for name in result or ())
        return dataclasses.replace(config, processors=MappingProxyType(self.processors(config)),
                                   index_names=tuple(names), hook=self.pm.hook)

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

