"""`NameVirtualHost`: Twisted's resource that serves one resource tree per `Host` name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from plugserve.resource import ErrorPage, IResource, Resource

from ._names import host_key, name_key

if TYPE_CHECKING:
    from plugserve.server import Request

__all__ = ["HostMap", "NameVirtualHost"]


class HostMap(dict[bytes, IResource]):
    """Twisted's `hosts` dict, whose keys are compared as host names: `hosts["Example.com"]`,
    `hosts[b"example.com."]` and `hosts["example.com:8080"]` are one entry, stored under
    `b"example.com"`.  Code that fills `root.hosts` directly therefore matches too."""

    def __init__(self, items: Mapping[Any, IResource] | Iterable[tuple[Any, IResource]] = ()
                 ) -> None:
        super().__init__()
        self.update(items)

    def __setitem__(self, name: str | bytes, resource: IResource) -> None:
        super().__setitem__(name_key(name), resource)

    def __getitem__(self, name: str | bytes) -> IResource:
        return super().__getitem__(name_key(name))

    def __delitem__(self, name: str | bytes) -> None:
        super().__delitem__(name_key(name))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str | bytes):
            return False
        try:
            return super().__contains__(name_key(name))
        except ValueError:
            return False

    def get(self, name: str | bytes, default: Any = None) -> Any:
        try:
            return super().get(name_key(name), default)
        except ValueError:
            return default

    def pop(self, name: str | bytes, *default: Any) -> Any:
        return super().pop(name_key(name), *default)

    def setdefault(self, name: str | bytes, resource: IResource) -> IResource:
        return super().setdefault(name_key(name), resource)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, resource in dict(*args, **kwargs).items():
            self[name] = resource


class NameVirtualHost(Resource):
    """The root of a server with several names: each request goes to the resource of the
    name in its `Host` header (or its absolute-form target), else to `default`.

    Names are str or bytes and match whatever their case, port or trailing dot; `[::1]`
    matches IPv6 literals and Unicode names their `xn--` form.  An unknown name with no
    `default` is a 404 naming it."""

    def __init__(self) -> None:
        super().__init__()
        #: The resource for names that are not in `hosts` (None: 404).
        self.default: IResource | None = None
        self.hosts: HostMap = HostMap()

    def addHost(self, name: str | bytes, resrc: IResource) -> None:
        """Serve `resrc` for requests to `name` (ValueError if it is not a host name)."""
        self.hosts[name] = resrc

    def removeHost(self, name: str | bytes) -> None:
        """Stop serving `name`; KeyError if it was not added."""
        del self.hosts[name]

    def _getResourceForRequest(self, request: Request) -> IResource:
        """The resource of the request's host name, the default, or a 404 page."""
        host = request.requestHeaders._last(b"host")
        resource = self._lookup(host_key(host)) if host else None
        if resource is not None:
            return resource
        if self.default is not None:
            return self.default
        if not host:
            return ErrorPage(404, "No Such Resource", "No such child resource.")
        name = host.decode("latin-1")
        return ErrorPage(404, "Not Found", f"host {name!r} not in vhost map")

    def _lookup(self, key: bytes | None) -> IResource | None:
        """The resource serving the canonical name `key` (a subclass may look elsewhere)."""
        return dict.get(self.hosts, key) if key is not None else None

    def getChild(self, path: bytes, request: Request) -> IResource:
        """The host's resource, given the segment back: traversal goes on from it with the
        whole path, so a leaf gets the full path and a tree its child, as in Twisted."""
        resource = self._getResourceForRequest(request)
        request.postpath.insert(0, request.prepath.pop())
        return resource

    def render(self, request: Request) -> Any:
        """Only reached with no path at all (`OPTIONS *`-like targets): the host's render."""
        return self._getResourceForRequest(request).render(request)
