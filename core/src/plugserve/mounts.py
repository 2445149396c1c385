"""Serving resources under URL prefixes beside the root: what `plugserve_mounts` feeds.

The command collects every plugin's `{"/prefix": resource}` (`merge_mounts`: one owner per
prefix, a clash names both plugins) and wraps the root in a `MountedRoot`.  At the first
segment the wrapper looks ahead in `postpath`, without moving anything, for the longest mount
prefix that the path starts with.  When one matches, it returns a chain of passage resources,
one per remaining prefix segment, that ends at the mounted resource, so that traversal itself
moves the prefix into `prepath` (a WSGI application mounted at `/app` sees `SCRIPT_NAME=/app`);
when none matches, traversal goes on in the root, so a mount wins over a child of the root of
the same name, and everything else is served as without mounts.  A root that is a leaf (a WSGI
application at `/` beside `--wsgi /app=...`) gets its segment back, as Twisted's recipe for a
WSGI root with children does, and sees the whole path.  Without a root, everything but the
mounts is a 404.

Plugins parse their `PREFIX=VALUE` options with `split_prefixed`, and check prefixes with
`normalize_prefix`, so that every plugin accepts and refuses the same spellings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from .error import UsageError
from .resource import IResource, NoResource
from .server import Site

if TYPE_CHECKING:
    from ._request import Request

__all__ = [
    "Mount",
    "MountedRoot",
    "merge_mounts",
    "mount",
    "normalize_prefix",
    "prefix_segments",
    "split_prefixed",
]

_FORBIDDEN_CHARS = "?#\\"


def normalize_prefix(prefix: str) -> str:
    """The canonical spelling of a mount prefix: `/api/v1` for `/api/v1`, `api/v1` or
    `/api/v1/`; ValueError saying what is wrong with an empty, root, `//`, `.`/`..`, `?`/`#`
    or space-padded one.  `%XX` escapes stand for the bytes they encode, as in request paths."""
    if not isinstance(prefix, str):
        raise ValueError(f"a prefix is text such as '/app', not {type(prefix).__name__}")
    if prefix != prefix.strip():
        raise ValueError("it has spaces around it")
    text = prefix if prefix.startswith("/") else "/" + prefix
    if text.endswith("/"):
        text = text[:-1]
    if not text:
        raise ValueError("'/' is the root, not a mount; serve the root without PREFIX=")
    for segment in text[1:].split("/"):
        if not segment:
            raise ValueError("it has an empty segment ('//')")
        if segment in (".", ".."):
            raise ValueError(f"it has a {segment!r} segment; give the path without it")
        bad = next((c for c in segment if c in _FORBIDDEN_CHARS or ord(c) < 0x20), None)
        if bad is not None:
            raise ValueError(f"it contains {bad!r}, which a URL path segment cannot hold")
    return text


def prefix_segments(prefix: str) -> tuple[bytes, ...]:
    """The `postpath` segments a normalised prefix matches (`%XX` decoded, UTF-8)."""
    return tuple(unquote_to_bytes(s) for s in normalize_prefix(prefix)[1:].split("/"))


def split_prefixed(value: str, option: str) -> tuple[str | None, str]:
    """Split an option's `PREFIX=VALUE` form: `("/app", "mod:app")` for `/app=mod:app`,
    `(None, value)` when there is no `=` or the text before it is not a path (it holds `:` or
    `(`, as in `mod:create_app(debug=True)`).  A bad prefix is a UsageError naming `option`."""
    head, sep, rest = value.partition("=")
    if not sep or ":" in head or "(" in head:
        return None, value
    try:
        prefix = normalize_prefix(head)
    except ValueError as exc:
        raise UsageError(f"{option} {value}: the prefix {head!r} is not a URL path: {exc} "
                         f"(e.g. {option} /app=...)") from None
    if not rest:
        raise UsageError(f"{option} {value}: nothing after '='; give PREFIX=VALUE")
    return prefix, rest


@dataclass(frozen=True)
class Mount:
    """One resource served under a prefix, and the plugin that mounted it."""

    prefix: str
    resource: IResource
    plugin: str

    def describe(self) -> str:
        """`/app -> WSGIResource (plugin wsgi)`: what the start-up lines print."""
        return f"{self.prefix} -> {type(self.resource).__name__} (plugin {self.plugin})"


def merge_mounts(contributions: Iterable[tuple[str, Mapping[str, IResource]]]) -> list[Mount]:
    """Every `(plugin name, {prefix: resource})` as one list, sorted by prefix.

    A prefix that is not a path, a value that is not a resource, or two plugins mounting one
    prefix is a UsageError naming the plugins and the prefix."""
    owners: dict[str, Mount] = {}
    for plugin, mapping in contributions:
        for raw, resource in (mapping or {}).items():
            try:
                prefix = normalize_prefix(raw)
            except ValueError as exc:
                raise UsageError(f"plugin {plugin!r} mounts {raw!r}: {exc}") from None
            if not isinstance(resource, IResource):
                raise UsageError(f"plugin {plugin!r} mounts {prefix} on a "
                                 f"{type(resource).__name__}, which is not a resource")
            other = owners.get(prefix)
            if other is not None and other.resource is not resource:
                who = (f"plugins {other.plugin!r} and {plugin!r} both mount"
                       if other.plugin != plugin else f"plugin {plugin!r} mounts twice at")
                raise UsageError(f"{who} {prefix}; give one of them another prefix, or disable "
                                 "a plugin with --no-plugin NAME")
            owners[prefix] = Mount(prefix, resource, plugin)
    return [owners[prefix] for prefix in sorted(owners)]


class _Passage:
    """One segment of a multi-segment prefix: its only child is the next step to the mount."""

    isLeaf = False

    def __init__(self, name: bytes, child: IResource) -> None:
        self._name = name
        self._child = child

    def getChildWithDefault(self, name: bytes, request: Request) -> IResource:
        """The next step for the segment looked ahead at; a 404 should a rule change it."""
        return self._child if name == self._name else NoResource()

    def putChild(self, path: bytes | str, child: IResource) -> None:
        """Passages are built by MountedRoot and hold nothing else."""
        raise TypeError("mount prefixes have no other children; mount another prefix instead")

    def render(self, request: Request) -> Any:
        """Reached only if a rewrite took the rest of the prefix away: not found."""
        return NoResource().render(request)


class MountedRoot:
    """A root resource with mounts: `MountedRoot(root, mounts)`, `root` None for none.

    Traversal into it looks for the longest mount prefix the path starts with; the mounted
    resource wins over the root's own child of that name."""

    isLeaf = False

    def __init__(self, root: IResource | None, mounts: Sequence[Mount]) -> None:
        self.root: IResource = root if root is not None else NoResource()
        self.mounts = list(mounts)
        # first segment -> (rest of the prefix, what traversal enters), longest first
        table: dict[bytes, list[tuple[list[bytes], IResource]]] = {}
        for mount in self.mounts:
            first, *rest = prefix_segments(mount.prefix)
            entry: IResource = mount.resource
            for name in reversed(rest):
                entry = _Passage(name, entry)
            table.setdefault(first, []).append((rest, entry))
        for entries in table.values():
            entries.sort(key=lambda e: len(e[0]), reverse=True)
        self._table = table

    def getChildWithDefault(self, name: bytes, request: Request) -> IResource:
        """The mount the path leads to, else the root's own child (or the root, if a leaf)."""
        entries = self._table.get(name)
        if entries is not None:
            postpath = request.postpath
            for rest, entry in entries:
                if postpath[: len(rest)] == rest:
                    return entry
        root = self.root
        if root.isLeaf:  # it serves the whole path: give the segment back (Twisted's recipe)
            request.postpath.insert(0, request.prepath.pop())
            return root
        return root.getChildWithDefault(name, request)

    def putChild(self, path: bytes | str, child: IResource) -> None:
        """Add a child to the root (a mount of the same name still wins)."""
        self.root.putChild(path, child)

    def render(self, request: Request) -> Any:
        """A path with no segment at all is the root's."""
        return self.root.render(request)


def mount(site_or_root: Site | IResource | None,
          mounts: Sequence[Mount]) -> Site | IResource | None:
    """`site_or_root` with `mounts` beside its root: a Site gets a MountedRoot as its resource,
    a resource (or None, with mounts) becomes one; without mounts, `site_or_root` itself."""
    if not mounts:
        return site_or_root
    if isinstance(site_or_root, Site):
        site_or_root.resource = MountedRoot(site_or_root.resource, mounts)
        return site_or_root
    return MountedRoot(site_or_root, mounts)
