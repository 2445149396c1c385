"""`ResourceScript`: run an .rpy file and return the resource it sets, as Twisted does.

The processor is called during traversal each time a request reaches the file, so the script
body runs on every request, in a fresh namespace: `__file__`, `registry` (shared by the tree,
the place for state that outlives a request and an edit of the script), and `cache` /
`recache`.  Only the compiling is cached (`_code`).  While the body runs, the script's folder is
first on `sys.path`, as for `python script.py`, so it can import the modules beside it.

Whatever goes wrong (the file cannot be read, does not compile, raises, or sets no resource)
becomes a `ScriptFailure` resource: a 500 for this request, naming the file, and nothing
remembered, so the next request runs the script again.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from plugserve.resource import IResource, Registry

from ._code import load_code
from ._failure import failed_load, failed_run, no_resource

__all__ = ["AlreadyCached", "CacheScanner", "ResourceScript"]

#: What a script's path may be given as: Twisted took bytes or str; a pathlib.Path works too.
ScriptPath = str | bytes | os.PathLike[str] | os.PathLike[bytes]

#: The `__name__` of a running script (classes it defines get it as their `__module__`).
SCRIPT_MODULE_NAME = "__rpy__"


class AlreadyCached(Exception):
    """Raised by `cache()` to stop the script: the registry already holds its resource."""

    def __init__(self, resource: Any) -> None:
        super().__init__(resource)
        self.resource = resource


class CacheScanner:
    """The `cache` and `recache` functions of one run of a script (Twisted's CacheScanner)."""

    def __init__(self, path: str, registry: Registry) -> None:
        self.path = path
        self.registry = registry
        self.doCache = False

    def cache(self) -> None:
        """Use the resource kept in the registry for this script, if any (the rest of the
        script is skipped); else keep the one this run makes."""
        cached = self.registry.getCachedPath(self.path)
        if cached is not None:
            raise AlreadyCached(cached)
        self.recache()

    def recache(self) -> None:
        """Keep the resource this run makes, replacing any kept before."""
        self.doCache = True


def ResourceScript(path: ScriptPath, registry: Registry) -> IResource:
    """Run the script at `path` and return the resource it assigns to `resource`.

    The processor factory for `.rpy` files (`File.processors[".rpy"]`).  A script that cannot
    be run, raises, or sets no Resource gives a resource that answers 500 naming the file."""
    script = os.path.abspath(os.fsdecode(path))
    try:
        code = load_code(script)
    except (OSError, SyntaxError, ValueError) as exc:  # ValueError: a NUL byte in the source
        return failed_load(script, exc)
    scanner = CacheScanner(script, registry)
    namespace: dict[str, Any] = {
        "__file__": script,
        "__name__": SCRIPT_MODULE_NAME,
        "registry": registry,
        "cache": scanner.cache,
        "recache": scanner.recache,
    }
    try:
        with _importable(os.path.dirname(script)):
            exec(code, namespace)  # running the script is the point
    except AlreadyCached as cached:
        return cached.resource  # type: ignore[no-any-return]
    # SystemExit too: a script calling exit() must fail its request, not stop the server.
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any error in the script is reported
        if isinstance(exc, ImportError):
            importlib.invalidate_caches()  # a module added next has to be found
        return failed_run(script, exc)
    resource = namespace.get("resource")
    if isinstance(resource, type) or not isinstance(resource, IResource):
        return no_resource(script, resource, missing="resource" not in namespace)
    if scanner.doCache:
        registry.cachePath(script, resource)
    return resource


@contextlib.contextmanager
def _importable(folder: str) -> Iterator[None]:
    """Put `folder` first on sys.path while the script runs.

    Without a lock: list insert and remove are atomic, and each run removes one copy of its
    own folder, so runs on several threads leave sys.path as they found it."""
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
