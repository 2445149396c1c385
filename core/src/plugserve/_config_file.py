"""Reading a `--config FILE.py`: what it serves and where it listens.

The file is plain Python, run once with `runpy`.  What it serves is, in order: `site`; else
the one Site (or other protocol factory, an object with `buildProtocol`) it defines under any
other name, as Twisted scripts write `factory = Site(resource)`; else `root`; else `resource`.
A Site therefore wins over the resource it was built around, and keeps its `logPath` and its
other settings, instead of the bare resource being served silently.
"""

from __future__ import annotations

import os
import runpy
import traceback
import types
from typing import TYPE_CHECKING, Any

from .error import UsageError
from .server import Site

if TYPE_CHECKING:
    from ._run import Served

__all__ = ["load_config_file"]


def _is_factory(value: object) -> bool:
    """A Site, or another protocol factory instance (not a class, not a module)."""
    if isinstance(value, Site):
        return True
    if isinstance(value, (type, types.ModuleType)):
        return False
    return callable(getattr(value, "buildProtocol", None))


def _served(path: str, namespace: dict[str, Any]) -> Served:
    site = namespace.get("site")
    if site is not None:
        return site  # type: ignore[no-any-return]
    factories: dict[int, list[str]] = {}
    for name, value in namespace.items():
        if not name.startswith("_") and _is_factory(value):
            factories.setdefault(id(value), []).append(name)
    if len(factories) > 1:
        names = ", ".join(sorted(names[0] for names in factories.values()))
        raise UsageError(f"--config {path}: the file defines several Sites ({names}); name the "
                         "one to serve `site`")
    if factories:
        return namespace[next(iter(factories.values()))[0]]  # type: ignore[no-any-return]
    for name in ("root", "resource"):
        value = namespace.get(name)
        if value is not None:
            return value  # type: ignore[no-any-return]
    raise UsageError(
        f"--config {path}: the file must define `root` (a Resource) or `site` (a Site)"
    )


def load_config_file(path: str) -> tuple[Served, tuple[str, ...]]:
    """Run a configuration file; return what it serves, and its `listen` endpoints."""
    try:
        namespace = runpy.run_path(path, run_name="__plugserve_config__")
    except FileNotFoundError:
        raise UsageError(f"--config {path}: no such file") from None
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - any error in the user's file is reported
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if os.path.abspath(f.filename) == os.path.abspath(path)]
        line = frames[-1].lineno if frames else getattr(exc, "lineno", "?")
        raise UsageError(f"--config {path}, line {line}: {type(exc).__name__}: {exc}") from None
    listen = namespace.get("listen")
    endpoints = (listen,) if isinstance(listen, str) else tuple(listen or ())
    return _served(path, namespace), endpoints
