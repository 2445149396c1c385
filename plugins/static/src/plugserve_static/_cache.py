"""The bytes of small files, kept between requests (the idea of nginx's open_file_cache).

A request for a small file still stats its path, as it must to find it; the cache then saves
the open, fstat, read and close.  An entry is used only while the file's identity is unchanged:
device, inode, size, mode, modification and change times (ctime moves on every write, chmod or
rename and cannot be set back), so an edited, replaced or chmod-ed file is read afresh on the
very next request.  The total is bounded: least recently used entries go first.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Final

__all__ = ["DEFAULT_CACHE_BYTES", "SmallFileCache"]

#: The default bound of a tree's cache (`--file-cache-size`).
DEFAULT_CACHE_BYTES: Final = 8 * 1024 * 1024

_Identity = tuple[int, int, int, int, int, int]


def _identity(st: os.stat_result) -> _Identity:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mode, st.st_mtime_ns, st.st_ctime_ns)


class SmallFileCache:
    """Path -> bytes of a small regular file, valid while the file's stat says it is unchanged."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[str, tuple[_Identity, bytes]] = OrderedDict()

    def get(self, path: str, st: os.stat_result) -> bytes | None:
        """The cached bytes of `path` if `st` (a fresh stat of it) matches them, else None."""
        entry = self._entries.get(path)
        if entry is None:
            return None
        if entry[0] != _identity(st):
            self._drop(path)
            return None
        self._entries.move_to_end(path)
        return entry[1]

    def put(self, path: str, st: os.stat_result, data: bytes) -> None:
        """Remember `data`, read from the file `st` describes (an fstat of the open file)."""
        if len(data) > self.max_bytes:
            return
        self._drop(path)
        self._entries[path] = (_identity(st), data)
        self.size += len(data)
        while self.size > self.max_bytes:
            _, (_, old) = self._entries.popitem(last=False)
            self.size -= len(old)

    def _drop(self, path: str) -> None:
        entry = self._entries.pop(path, None)
        if entry is not None:
            self.size -= len(entry[1])

    def __len__(self) -> int:
        return len(self._entries)
