"""Compiled resource scripts, cached by the file's identity so an unchanged script is parsed once.

A script runs on every request, but parsing it every time would cost more than running it.  The
cache maps a path to the code compiled from it, together with the signature of the file it was
read from: modification time, change time, size, inode and device, all from one `fstat` of the
open file, so the signature always describes the bytes that were compiled.  Any edit (in place
or by an editor's rename) changes the signature and the next request compiles again.  Two edits
of the same size within one tick of the filesystem clock cannot be told apart, as for Python's
own `.pyc` files; touching the file fixes that.
"""

from __future__ import annotations

import os
import threading
from types import CodeType
from typing import Final

__all__ = ["CodeCache", "load_code"]

Signature = tuple[int, int, int, int, int]


class CodeCache:
    """Code objects of the scripts most recently run, at most `size` of them."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: dict[str, tuple[Signature, CodeType]] = {}
        self._lock = threading.Lock()

    def load(self, path: str) -> CodeType:
        """The code of the script at `path`: cached if the file is unchanged, else compiled.

        Raises OSError if the file cannot be read, and SyntaxError (or ValueError, for a NUL
        byte) if it does not compile."""
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            signature = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, st.st_dev)
            with self._lock:
                entry = self._entries.pop(path, None)
                if entry is not None and entry[0] == signature:
                    self._entries[path] = entry  # most recently used last
                    return entry[1]
            source = f.read()
        # dont_inherit: this module's `from __future__` imports must not reach the script.
        code = compile(source, path, "exec", dont_inherit=True)
        with self._lock:
            self._entries[path] = (signature, code)
            while len(self._entries) > self.size:
                del self._entries[next(iter(self._entries))]
        return code


#: The process-wide cache used by ResourceScript.
_CACHE: Final = CodeCache()


def load_code(path: str) -> CodeType:
    """The compiled code of the script at `path` (see CodeCache.load)."""
    return _CACHE.load(path)
