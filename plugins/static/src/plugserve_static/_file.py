"""`File`: Twisted Web's `static.File`, a Resource for a file or a directory tree.

Traversal (`getChild`) maps one URL segment at a time to a path through `_paths.child_path`,
which refuses anything that could leave the root; `render` answers a file (through `_send`), or
redirects a directory to its slash form.  Every setting is per instance and copied to children
by `createSimilarFile`: Twisted's class-level `processors` dict, shared by every File of the
process, is not repeated.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import Any, Final

from plugserve.resource import IResource, NoResource, Registry, Resource, error_html
from plugserve.server import Request
from plugserve.util import redirectTo

from ._cache import SmallFileCache
from ._listing import DirectoryLister
from ._mime import CONTENT_ENCODINGS, extension, load_mime_types, type_and_encoding
from ._paths import child_path, inside
from ._send import FileInfo, send_file_response

__all__ = ["File", "Registry"]

#: Twisted's resource-script extensions: run by a processor (plugserve-rpy) or not served.
SCRIPT_EXTENSIONS: Final = frozenset({".rpy", ".epy"})

ProcessorFactory = Callable[[str, Any], IResource]


class File(Resource):
    """A file or a directory, served with types, validators, ranges and listings."""

    # The stat that traversal took of this file, used once by render (see getChild).
    _stat: os.stat_result | None = None

    def __init__(
        self,
        path: str | bytes,
        defaultType: str = "text/html",
        ignoredExts: tuple[str, ...] | list[str] | int = (),
        registry: Registry | None = None,
        allowExt: int = 0,
    ) -> None:
        super().__init__()
        self.path = os.path.abspath(os.fsdecode(path))
        self.defaultType = defaultType
        if isinstance(ignoredExts, int):  # Twisted's deprecated 0/1 form
            ignoredExts = ["*"] if ignoredExts else []
        self.ignoredExts: list[str] = list(ignoredExts) or (["*"] if allowExt else [])
        self.registry = registry if registry is not None else Registry()
        self.indexNames: list[str] = ["index", "index.html", "index.htm", "index.rpy"]
        self.processors: dict[str, ProcessorFactory] = {}
        self.contentTypes: dict[str, str] = load_mime_types()
        self.contentEncodings: dict[str, str] = dict(CONTENT_ENCODINGS)
        self.childNotFound: IResource = NoResource("File not found.")
        #: Serve and list dotfiles (`.well-known` is always served).
        self.serveDotfiles = False
        #: List directories that have no index file (else 403).
        self.allowListing = True
        #: Refuse symlinks whose target is outside the root (`--no-symlinks-outside-root`).
        self.confineSymlinks = False
        #: Serve `name.br` / `name.gz` when the client accepts it (`--precompressed`).
        self.precompressed = False
        #: Small files' bytes kept between requests, shared by the tree (`--file-cache-size`).
        self.fileCache = SmallFileCache()
        self.root = self.path

    def ignoreExt(self, ext: str) -> None:
        """Let `/foo` be served from `foo<ext>` when `foo` does not exist; `"*"`: any ext."""
        self.ignoredExts.append(ext)

    def createSimilarFile(self, path: str) -> File:
        """A File for `path` under this one, with this one's settings: the same processors,
        types, encodings and registry objects (a change on the root reaches every file under
        it, as in Twisted), copies of the lists, and no putChild children."""
        return self._similar(os.path.abspath(path))

    def _similar(self, path: str) -> File:
        """createSimilarFile for a path already absolute and normalised (traversal's).  A
        shallow copy, not a constructor call: made for every file served, it must cost
        microseconds."""
        cls = type(self)
        child = cls.__new__(cls)  # copy.copy, without its reduce protocol: 3x faster
        child.__dict__.update(self.__dict__)
        child.path = path
        child.children = {}
        child._stat = None
        child.indexNames = self.indexNames[:]
        child.ignoredExts = self.ignoredExts[:]
        return child

    # -- traversal -------------------------------------------------------------------------------

    def _path_for(self, segment: bytes) -> str | None:
        return child_path(self.path, segment, self.root, dotfiles=self.serveDotfiles,
                          confine_symlinks=self.confineSymlinks)

    def getChild(self, path: bytes, request: Request) -> IResource:
        """The resource for one more URL segment (Twisted's steps, with the path checks)."""
        if path == b"" or path == b".":
            if not os.path.isdir(self.path):
                return self.childNotFound
            return self._index() if path == b"" else self
        child = self._path_for(path)
        if child is None:
            return self.childNotFound
        # One stat: under a regular file it fails (ENOTDIR), and a broken symlink is missing.
        # The child File renders from it, so a request stats its file once.
        try:
            st: os.stat_result | None = os.stat(child)
        except (OSError, ValueError):
            found = self._sibling(child)
            if found is None:
                return self.childNotFound
            child, st = found, None
        resource = self._resource_for(child)
        if st is not None and isinstance(resource, File):
            resource._stat = st
        return resource

    def _index(self) -> IResource:
        for name in self.indexNames:
            child = self._path_for(name.encode("utf-8"))
            if child is not None and os.path.exists(child) and self._servable(child):
                return self._resource_for(child)
        if not self.allowListing:
            return _Forbidden()
        return DirectoryLister(self.path, self._type_name, self.serveDotfiles)

    def _sibling(self, child: str) -> str | None:
        """`foo` served from `foo.ext` (ignoreExt); `*` takes the first in sorted order."""
        directory, base = os.path.split(child)
        for ext in self.ignoredExts:
            if ext == "*":
                try:
                    names = sorted(os.listdir(directory))
                except OSError:
                    return None
                for name in names:
                    if name.startswith(base + "."):
                        found = self._path_for(name.encode("utf-8", "surrogateescape"))
                        if found is not None:
                            return found
            elif os.path.exists(child + ext):
                found = self._path_for(os.path.basename(child + ext).encode("utf-8"))
                if found is not None:
                    return found
        return None

    def _servable(self, path: str) -> bool:
        """False for a resource script (.rpy, .epy) that no processor runs: its source is
        code, often with secrets, and Twisted's habit of sending it as a page leaks it."""
        ext = extension(path)
        return ext not in SCRIPT_EXTENSIONS or ext in self.processors

    def _resource_for(self, path: str) -> IResource:
        ext = extension(path)
        processor = self.processors.get(ext)
        if processor is not None:
            return processor(path, self.registry)
        if ext in SCRIPT_EXTENSIONS:
            return self.childNotFound
        if type(self).createSimilarFile is File.createSimilarFile:
            return self._similar(path)  # from _path_for: absolute and normalised already
        return self.createSimilarFile(path)  # a subclass's own (a Twisted idiom)

    def _type_name(self, name: str) -> str:
        content_type, _ = type_and_encoding(name, self.contentTypes, self.contentEncodings, None)
        return content_type or "application/octet-stream"

    # -- rendering -------------------------------------------------------------------------------

    def render(self, request: Request) -> Any:
        """A file for GET/HEAD, a redirect for a directory without its slash, else 405."""
        if request.method not in (b"GET", b"HEAD"):
            request.setResponseCode(405)
            request.setHeader(b"allow", b"GET, HEAD")
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            return error_html(405, "Method Not Allowed", "Files are only read here.")
        st = self._stat
        self._stat = None
        try:
            if st is None:
                st = os.stat(self.path)
        except PermissionError:
            return _Forbidden().render(request)
        except (OSError, ValueError):
            return self.childNotFound.render(request)
        if stat.S_ISDIR(st.st_mode):
            # The origin path, not the target: `GET http://host/dir` redirects to `/dir/`.
            query, sep = request.uri.partition(b"?")[2], b"?" in request.uri
            location = b"/" + request.path.lstrip(b"/") + b"/" + (b"?" + query if sep else b"")
            return redirectTo(location, request)
        chosen, info = self._variant(request)
        if chosen != self.path:
            st = None  # a precompressed variant: not the file stat-ed above
        return send_file_response(request, chosen, info, st, self.fileCache)

    def _variant(self, request: Request) -> tuple[str, FileInfo]:
        """The file to send: the precompressed one when asked for and accepted."""
        content_type, encoding = type_and_encoding(
            self.path, self.contentTypes, self.contentEncodings, None
        )
        if content_type is None and not os.path.splitext(os.path.basename(self.path))[1]:
            content_type = self.defaultType  # no extension at all: Twisted's default
        if not self.precompressed or encoding is not None:
            return self.path, FileInfo(content_type, encoding)
        accepted = _accepted_codings(request.getHeader(b"accept-encoding") or b"")
        for coding, ext in (("br", ".br"), ("gzip", ".gz")):
            candidate = self.path + ext
            if coding in accepted and os.path.isfile(candidate) and self._allowed(candidate):
                return candidate, FileInfo(content_type, coding, vary=True)
        vary = any(os.path.isfile(self.path + ext) for ext in (".br", ".gz"))
        return self.path, FileInfo(content_type, None, vary=vary)

    def _allowed(self, path: str) -> bool:
        if not self.confineSymlinks:
            return True
        return inside(os.path.realpath(path), os.path.realpath(self.root))


class _Forbidden(Resource):
    isLeaf = True

    def render(self, request: Request) -> bytes:
        request.setResponseCode(403)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return error_html(403, "Forbidden Resource", "Sorry, resource is forbidden.")


def _accepted_codings(header: bytes) -> set[str]:
    """Codings the client accepts (q > 0), RFC 9110 §12.5.3."""
    accepted = set()
    for item in header.decode("latin-1").split(","):
        coding, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding and q > 0:
            accepted.add(coding.strip().lower())
    return accepted
