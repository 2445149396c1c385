"""`Registry`: the components shared by the resources of one tree (Twisted's
`twisted.web.static.Registry`).

It is in the core, public as `plugserve.resource.Registry`, because more than one plugin uses
it: a static `File` tree creates one and hands it to its processors (`.rpy` scripts get it as
`registry`), and plugins never import each other.  `plugserve_static.Registry` is the same
class, the name Twisted code imports.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Registry"]


class Registry:
    """Components shared by the scripts under one tree (Twisted's `static.Registry`).

    Keys are any hashable object (Twisted uses interfaces); paths are the file paths the
    processors of a tree cache their resources under."""

    def __init__(self) -> None:
        self._components: dict[Any, Any] = {}
        self._paths: dict[str, Any] = {}

    def setComponent(self, interface: Any, component: Any) -> None:
        """Register `component` under the key `interface`."""
        self._components[interface] = component

    def getComponent(self, interface: Any, default: Any = None) -> Any:
        """The component registered under `interface`, or `default`."""
        return self._components.get(interface, default)

    def cachePath(self, path: str, rsrc: Any) -> None:
        """Remember the resource made for `path` (processors use this as a cache)."""
        self._paths[path] = rsrc

    def getCachedPath(self, path: str) -> Any:
        """The resource remembered for `path`, or None."""
        return self._paths.get(path)
