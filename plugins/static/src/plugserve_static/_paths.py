"""Turning one URL segment into a filesystem path that is certainly inside the root.

A segment reaches us already %-decoded by the core (`%2e%2e` is `..`, `%2f` is `/`), so every
trick is visible here as a byte: a segment with `/`, `\\` or NUL, `..`, or one that is not UTF-8
is refused outright.  The joined path is then checked twice: lexically (normpath + commonpath
against the root) always, and on the real path (realpath + commonpath) when symlinks must stay
inside the root.  Refusals are `None`: the caller answers 404 and says nothing about the disk.
"""

from __future__ import annotations

import os
from typing import Final

__all__ = ["child_path", "inside", "is_hidden"]

_WELL_KNOWN: Final = ".well-known"
# Ints, not one-byte bytes: `47 in segment` is a plain search, where `b"/" in segment` first
# tries the needle as an int and builds and drops a TypeError (several times slower).
_SLASH, _BACKSLASH, _NUL = b"/\\\x00"


def is_hidden(name: str) -> bool:
    """Dotfiles are private (404, unlisted), except `.well-known` (RFC 8615)."""
    return name.startswith(".") and name != _WELL_KNOWN


def inside(path: str, root: str) -> bool:
    """True when `path` is `root` or below it (both absolute and normalised)."""
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives, or a mix of absolute and relative
        return False


def child_path(
    directory: str, segment: bytes, root: str, *, dotfiles: bool, confine_symlinks: bool
) -> str | None:
    """The path of `segment` under `directory`, or None when it must not be served."""
    if (
        not segment or segment == b"." or segment == b".."
        or _SLASH in segment or _BACKSLASH in segment or _NUL in segment
    ):
        return None
    try:
        name = segment.decode("utf-8")
    except UnicodeDecodeError:  # includes overlong UTF-8 forms, which are invalid UTF-8
        return None
    if not dotfiles and is_hidden(name):
        return None
    # `directory` is normalised and inside `root`, and `name` is one component with no
    # separator and no dot-segment, so the join stays inside; the prefix test says so cheaply
    # (commonpath costs more than the rest of the request's path handling together).
    path = directory + name if directory.endswith(os.sep) else directory + os.sep + name
    if not path.startswith(root if root.endswith(os.sep) else root + os.sep):
        return None
    if confine_symlinks and not inside(os.path.realpath(path), os.path.realpath(root)):
        return None
    return path
