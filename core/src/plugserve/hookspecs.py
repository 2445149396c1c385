"""The hooks a plugserve plugin can implement (pluggy project name "plugserve").

A plugin is a module (or object) with functions named after these specs and decorated with
`@hookimpl`, registered under the entry-point group `plugserve`:

    [project.entry-points.plugserve]
    myplugin = "myplugin._plugin"

Hooks are synchronous.  Registration hooks (processors, index names, mounts, encoders, rewrite
rules, session store) are called once at start-up; per-request hooks (get_child, request_started,
request_finished) are called only when some plugin implements them.  docs/writing-plugins.md
documents each one.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ._request import Request
    from .config import Config
    from .encoders import EncoderFactory
    from .resource import IResource
    from .session import SessionStore

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("plugserve")
hookimpl = pluggy.HookimplMarker("plugserve")

ProcessorFactory = Callable[[str, Any], "IResource"]


@hookspec
def plugserve_add_options(group: argparse._ArgumentGroup) -> None:
    """Add this plugin's command-line options to `group` (one argparse group per plugin)."""


@hookspec(historic=True)
def plugserve_configure(config: Config) -> None:
    """Read the parsed configuration; raise plugserve.error.UsageError for a bad option (exit 2)."""


@hookspec
def plugserve_unconfigure(config: Config) -> Awaitable[None] | None:
    """Release what configure acquired; called at shutdown, may return an awaitable."""


@hookspec(firstresult=True)
def plugserve_make_root(config: Config) -> IResource | None:
    """Return the root resource if this plugin's options ask it to serve, else None.

    Plugins selected with --plugin are asked first."""


@hookspec(firstresult=True)
def plugserve_default_listen(config: Config) -> Sequence[str] | None:
    """The endpoints to listen on when neither --listen nor a config file's `listen` names
    any, instead of `tcp:8080`; None to leave the default alone.

    A personal server (`--personal`) listens on its user's socket this way."""


@hookspec
def plugserve_mounts(config: Config) -> Mapping[str, IResource]:
    """Resources to serve under URL prefixes beside the root: `{"/prefix": resource}`.

    Prefixes may have several segments (`/api/v1`); a mount wins over the root's child of the
    same name, and the longest matching prefix wins.  The maps of all plugins are merged; two
    plugins mounting one prefix is a start-up error naming both (see plugserve.mounts)."""
    raise NotImplementedError


@hookspec(firstresult=True)
def plugserve_directory_resource(path: str, config: Config,
                                 contained: bool) -> IResource | None:
    """The resource serving the folder `path` as `--path` would serve it, or None.

    plugserve-static answers it, with the run's processors and static options; plugins that
    serve folders of their own (virtual hosts, per-user sites) ask it through
    `config.directory_resource(path)` instead of importing a file-serving plugin.  With
    `contained`, no symlink that leads out of `path` is followed, whatever the run's options
    (a user's `public_html` must not reach another user's files)."""


@hookspec
def plugserve_processors(config: Config) -> Mapping[str, ProcessorFactory]:
    """Map file extensions (".rpy") to factories `factory(path, registry) -> Resource`.

    The static plugin applies them to files it serves; two plugins claiming one extension is a
    start-up error naming both."""
    raise NotImplementedError


@hookspec
def plugserve_index_names(config: Config) -> Sequence[str]:
    """File names (such as "index.php") that serve a folder when a request names the folder,
    tried after the default index names.  `--index` replaces the defaults and these alike.

    For a plugin whose processors serve index pages; merged in registration order."""
    raise NotImplementedError


@hookspec
def plugserve_encoders(config: Config) -> Sequence[EncoderFactory]:
    """Encoder factories (each with an `encoding` token such as b"gzip") for `--encode`."""
    raise NotImplementedError


@hookspec
def plugserve_rewrite_rules(config: Config) -> Sequence[Callable[[Request], None]]:
    """Rules applied to every request at the root, before traversal (may edit postpath)."""
    raise NotImplementedError


@hookspec(firstresult=True)
def plugserve_get_child(resource: IResource, name: bytes, request: Request) -> IResource | None:
    """Resolve a child during traversal: after putChild children, before getChild."""


@hookspec
def plugserve_request_started(request: Request) -> None:
    """A request's head has arrived and it is about to be traversed (add headers, start
    timers); a body may still be arriving, as a resource may read it while it arrives."""


@hookspec
def plugserve_request_finished(request: Request) -> None:
    """The response was finished, or the client went away first (`request.finished` says which)."""


@hookspec(firstresult=True)
def plugserve_session_store(config: Config) -> SessionStore | None:
    """Return the session store; the core's in-memory store is the `trylast` default."""
