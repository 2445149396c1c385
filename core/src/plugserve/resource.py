"""Twisted Web's resource model: `Resource`, the error pages and traversal.

A resource is one URL segment of a site.  Traversal (`getChildForRequest`, the only code that moves
segments from `postpath` to `prepath`) asks each resource for the next one: children added with
`putChild` first, then the plugins' child-resolution hook, then `getChild`, until a leaf or the end
of the path; the resource reached is then rendered.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, runtime_checkable

from ._registry import Registry
from .error import UnsupportedMethod

if TYPE_CHECKING:
    from ._request import Request
    from .encoders import EncoderFactory

__all__ = [
    "EncodingResourceWrapper",
    "ErrorPage",
    "ForbiddenResource",
    "IResource",
    "NoResource",
    "Registry",
    "Resource",
    "allowed_methods",
    "error_html",
    "getChildForRequest",
]


@runtime_checkable
class IResource(Protocol):
    """What traversal and rendering need from a resource."""

    # Read-only in the protocol: traversal only reads it, and wrappers (EncodingResourceWrapper,
    # RewriterResource) answer it with a property; a plain `isLeaf: bool` member would make
    # type checkers reject `Site(EncodingResourceWrapper(...))`.
    @property
    def isLeaf(self) -> bool: ...

    def getChildWithDefault(self, name: bytes, request: Request) -> IResource: ...
    def putChild(self, path: bytes | str, child: IResource) -> None: ...
    def render(self, request: Request) -> Any: ...


class Resource:
    """A node of the URL tree, rendered by its `render_<METHOD>` methods."""

    isLeaf: bool = False
    server: Any = None
    allowedMethods: ClassVar[Sequence[bytes] | None] = None
    #: True: render as soon as the request head arrives, with `request.content` a stream of
    #: the body (`await content.read(n)`; `content.blocking` for worker threads) instead of
    #: the whole body in a file.
    stream_request_body: ClassVar[bool] = False

    def __init__(self) -> None:
        self.children: dict[bytes, IResource] = {}

    def getChild(self, path: bytes, request: Request) -> IResource:
        """The child for a segment no `putChild` registered; override for dynamic children."""
        return _NOT_FOUND

    def getChildWithDefault(self, path: bytes, request: Request) -> IResource:
        """`putChild` children first, then the plugins' get-child hook, then `getChild`."""
        child = self.children.get(path)
        if child is not None:
            return child
        hook = request._child_hook
        if hook is not None:
            found = hook(resource=self, name=path, request=request)
            if found is not None:
                return found  # type: ignore[no-any-return]
        return self.getChild(path, request)

    def putChild(self, path: bytes | str, child: IResource) -> None:
        """Make `child` answer the segment `path` (bytes, or str encoded as UTF-8)."""
        if isinstance(path, str):
            path = path.encode("utf-8")
        elif not isinstance(path, bytes):
            raise TypeError(f"putChild needs bytes or str, not {type(path).__name__}")
        self.children[path] = child
        try:
            child.server = self.server  # type: ignore[attr-defined]
        except AttributeError:
            pass

    def delEntity(self, name: bytes) -> None:
        """Remove the child registered for `name`."""
        del self.children[name]

    def listStaticNames(self) -> list[bytes]:
        """The segments registered with putChild."""
        return list(self.children)

    def getStaticEntity(self, name: bytes) -> IResource | None:
        """The child registered for `name`, or None."""
        return self.children.get(name)

    def render(self, request: Request) -> Any:
        """Call `render_<METHOD>`; raise UnsupportedMethod (405/501) when there is none."""
        method = getattr(self, _render_name(request.method), None)
        if method is None:
            raise UnsupportedMethod(allowed_methods(self))
        return method(request)

    def render_HEAD(self, request: Request) -> Any:
        """HEAD is GET without the body (the request drops what is written)."""
        render_get = getattr(self, "render_GET", None)
        if render_get is None:
            raise UnsupportedMethod(allowed_methods(self))
        return render_get(request)


@lru_cache(maxsize=64)
def _render_name(method: bytes) -> str:
    return "render_" + method.decode("ascii", "replace")


def allowed_methods(resource: object) -> list[bytes]:
    """The methods `resource` renders: its `allowedMethods`, else its `render_*` methods
    (HEAD only where GET or an own render_HEAD is there, unlike Twisted, which always
    advertises HEAD)."""
    explicit = getattr(resource, "allowedMethods", None)
    if explicit is not None:
        return list(explicit)
    cls: type = type(resource)
    return list(_class_methods(cls))


@lru_cache(maxsize=1024)
def _class_methods(cls: type) -> tuple[bytes, ...]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for attr in vars(klass):
            if attr.startswith("render_") and attr[7:] not in names:
                names.append(attr[7:])
    # Resource's own render_HEAD only serves HEAD through render_GET; a class that defines its
    # own render_HEAD does answer HEAD, so it keeps HEAD in its Allow header even without GET.
    if "GET" not in names and getattr(cls, "render_HEAD", None) is Resource.render_HEAD:
        names.remove("HEAD")
    return tuple(name.encode("ascii") for name in names)


def getChildForRequest(resource: IResource, request: Request) -> IResource:
    """Walk `request.postpath` from `resource` down to a leaf or the end of the path."""
    postpath = request.postpath
    prepath = request.prepath
    while postpath and not resource.isLeaf:
        name = postpath.pop(0)
        prepath.append(name)
        resource = resource.getChildWithDefault(name, request)
    return resource


class ErrorPage(Resource):
    """A page that answers every method and sub-path with one status and an HTML message.

    Unlike Twisted's legacy ErrorPage, `brief` and `detail` are HTML-escaped.  It answers as
    soon as the request head is in (`renders_before_body`): a body sent to a missing resource
    is not waited for, and only read and dropped within the server's linger bounds."""

    isLeaf = True
    renders_before_body: ClassVar[bool] = True

    def __init__(self, status: int, brief: str, detail: str) -> None:
        super().__init__()
        self.code = status
        self.brief = brief
        self.detail = detail

    def render(self, request: Request) -> bytes:
        """The error page for any method."""
        request.setResponseCode(self.code)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return error_html(self.code, self.brief, self.detail)

    def getChild(self, path: bytes, request: Request) -> IResource:
        """Every sub-path gets the same page."""
        return self


def error_html(code: int, brief: str, detail: str) -> bytes:
    """The HTML of an error page, escaped, in Twisted's layout."""
    brief_h = html.escape(str(brief))
    detail_h = html.escape(str(detail))
    return (
        f"\n<html>\n  <head><title>{code} - {brief_h}</title></head>\n  <body>\n"
        f"    <h1>{brief_h}</h1>\n    <p>{detail_h}</p>\n  </body>\n</html>\n"
    ).encode()


class NoResource(ErrorPage):
    """404 Not Found."""

    def __init__(self, message: str = "Sorry. No luck finding that resource.") -> None:
        super().__init__(404, "No Such Resource", message)


class ForbiddenResource(ErrorPage):
    """403 Forbidden."""

    def __init__(self, message: str = "Sorry, resource is forbidden.") -> None:
        super().__init__(403, "Forbidden Resource", message)


_NOT_FOUND: Final = NoResource()


class EncodingResourceWrapper:
    """Wrap a resource so its responses are compressed when the client accepts it.

    As in Twisted, only the wrapped resource itself is encoded, not children found through it;
    use `--encode` (Site-wide encoders) to compress a whole site."""

    def __init__(self, original: IResource, encoders: Sequence[EncoderFactory]) -> None:
        self._original = original
        self._encoders = list(encoders)

    @property
    def isLeaf(self) -> bool:
        """The wrapped resource's isLeaf."""
        return bool(self._original.isLeaf)

    def getChildWithDefault(self, name: bytes, request: Request) -> IResource:
        """Children of the wrapped resource (not wrapped)."""
        return self._original.getChildWithDefault(name, request)

    def putChild(self, path: bytes | str, child: IResource) -> None:
        """Add a child to the wrapped resource."""
        self._original.putChild(path, child)

    def render(self, request: Request) -> Any:
        """Pick an encoder for this request, then render the wrapped resource."""
        from .encoders import choose_encoder

        encoder = choose_encoder(self._encoders, request)
        if encoder is not None:
            request._encoder = encoder
        return self._original.render(request)
