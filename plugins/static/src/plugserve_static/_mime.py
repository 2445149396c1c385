"""Content types and encodings by file extension.

The platform's table (`mimetypes`, which reads /etc/mime.types) varies by machine, so a table of
the types the web needs is laid over it; both are copied into each `File`'s own dict, which the
user may change (`root.contentTypes[".woff2"] = "font/woff2"`).
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Final

__all__ = ["CONTENT_ENCODINGS", "WEB_TYPES", "extension", "load_mime_types", "type_and_encoding"]

#: Types browsers need exactly, whatever the platform says (WHATWG MIME Sniffing, RFC 9239).
WEB_TYPES: Final[Mapping[str, str]] = MappingProxyType({
    ".html": "text/html", ".htm": "text/html", ".css": "text/css",
    ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
    ".map": "application/json", ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm", ".svg": "image/svg+xml", ".webp": "image/webp",
    ".avif": "image/avif", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".gif": "image/gif", ".ico": "image/vnd.microsoft.icon", ".woff": "font/woff",
    ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf", ".txt": "text/plain",
    ".md": "text/markdown", ".xml": "application/xml", ".pdf": "application/pdf",
    ".mp4": "video/mp4", ".webm": "video/webm", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
    ".conf": "text/plain", ".diff": "text/plain", ".patch": "text/plain",
    ".java": "text/plain", ".flac": "audio/x-flac",
})

#: Extensions that are a content coding of the inner file (RFC 9110 §8.4.1).
CONTENT_ENCODINGS: Final[Mapping[str, str]] = MappingProxyType(
    {".gz": "gzip", ".br": "br", ".bz2": "bzip2"}
)


@lru_cache(maxsize=1)
def _known_types() -> Mapping[str, str]:
    """The platform's types, then WEB_TYPES over them, read once per process: reading the
    system's mime.types costs milliseconds."""
    mimetypes.init()
    return MappingProxyType({**mimetypes.types_map, **WEB_TYPES})


def load_mime_types() -> dict[str, str]:
    """A fresh dict of the known types, for a root File to own and change."""
    return dict(_known_types())


_NOT_BEFORE_DOT: Final = os.sep + (os.altsep or "") + "."


def extension(path: str) -> str:
    """`os.path.splitext(path)[1]`, found with two searches in the common case (it runs for
    every file served); anything unusual (a leading dot, a dot in a directory name) is left
    to splitext itself."""
    dot = path.rfind(".")
    if (
        dot > 0
        and path[dot - 1] not in _NOT_BEFORE_DOT
        and path.find(os.sep, dot) < 0
        and (os.altsep is None or path.find(os.altsep, dot) < 0)
    ):
        return path[dot:]
    return os.path.splitext(path)[1]


def type_and_encoding(
    path: str, types: Mapping[str, str], encodings: Mapping[str, str], default: str | None
) -> tuple[str | None, str | None]:
    """(content type, content coding) of `path`: `a.txt.gz` is text/plain, coded gzip."""
    ext = extension(path)
    encoding = encodings.get(ext.lower())
    if encoding is not None:
        ext = extension(path[: len(path) - len(ext)])
    ext = ext.lower()
    return types.get(ext, default), encoding
