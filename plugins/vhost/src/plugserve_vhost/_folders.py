"""`--vhost-dir DIR`: every subfolder of DIR is a virtual host, as in the guide's loop over
`/var/vhosts`, but looked up while the server runs: a folder added (or removed) is served
(or not) within `--vhost-dir-refresh` seconds, without a restart."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from plugserve.resource import IResource

from ._hosts import NameVirtualHost
from ._names import name_key

__all__ = ["VHostFolders"]

_log = logging.getLogger("plugserve.vhost")


class VHostFolders(NameVirtualHost):
    """A NameVirtualHost whose names are also the subfolders of `folder`.

    Names added with `addHost` win over folders.  The folder is listed at most once per
    `refresh` seconds, so a flood of requests for unknown names costs no system call each,
    and what is kept grows with the folders, not with the names that clients send.  A
    folder whose name is not a host name (`.git`, `a b`) is never served."""

    def __init__(self, folder: str, make: Callable[[str], IResource | None],
                 refresh: float = 2.0) -> None:
        super().__init__()
        self.folder = folder
        self.refresh = refresh
        self._make = make
        self._paths: dict[bytes, str] = {}
        self._served: dict[bytes, tuple[str, IResource]] = {}
        self._listed_at = float("-inf")

    def _lookup(self, key: bytes | None) -> IResource | None:
        if key is None:
            return None
        resource = super()._lookup(key)
        if resource is not None:
            return resource
        now = time.monotonic()
        if now - self._listed_at >= self.refresh:
            self._listed_at = now
            self._paths = self._list()
            self._served = {k: v for k, v in self._served.items()
                            if self._paths.get(k) == v[0]}
        path = self._paths.get(key)
        if path is None:
            return None
        served = self._served.get(key)
        if served is None:
            made = self._make(path)
            if made is None:
                return None
            served = self._served[key] = (path, made)
        return served[1]

    def _list(self) -> dict[bytes, str]:
        """Canonical name -> folder, for each subfolder whose name is a host name."""
        found: dict[bytes, str] = {}
        try:
            entries = list(os.scandir(self.folder))
        except OSError as exc:
            _log.warning("--vhost-dir %s cannot be listed: %s", self.folder, exc)
            return found
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            try:
                found.setdefault(name_key(entry.name), entry.path)
            except ValueError:
                continue
        return found
