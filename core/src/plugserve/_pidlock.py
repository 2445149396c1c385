"""The PID lock file of a `unix:` endpoint with `wantPID=1` (Twisted's `lockfile=1`).

`PATH.lock` is a symbolic link whose target is the PID of the server that owns socket PATH, as
Twisted's `FilesystemLock` writes it: creating a link is atomic, so two servers starting at once
cannot both win.  A lock whose process is gone was left by a crash: the lock and the socket it
guarded are removed and taken over.  A lock whose process is alive means a running server owns
the socket, which is then never touched.  The lock is removed when its owner exits.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import stat

__all__ = ["acquire_pid_lock", "lock_path"]


def lock_path(socket_path: str) -> str:
    """Where the lock of socket `socket_path` lives: beside it, `.lock` appended."""
    return socket_path + ".lock"


def _owner(lock: str) -> int | None:
    """The PID the lock names; None when it names none (not a PID lock, or unreadable)."""
    try:
        target = os.readlink(lock)
    except OSError:
        return None
    return int(target) if target.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def acquire_pid_lock(socket_path: str) -> None:
    """Take the lock of `socket_path` for this process, or OSError(EADDRINUSE) naming the live
    process that holds it.  A stale lock (its process is dead) is removed together with the
    socket it guarded."""
    lock = lock_path(socket_path)
    for _attempt in range(2):
        try:
            os.symlink(str(os.getpid()), lock)
        except FileExistsError:
            owner = _owner(lock)
            if owner == os.getpid():
                return  # ours already (a server of this process): the probe of bind decides
            if owner is not None and _alive(owner):
                raise OSError(errno.EADDRINUSE, f"Address {socket_path!r} is already in use: "
                              f"its lock file {lock} names process {owner}, which is "
                              "running") from None
            if owner is None and not os.path.islink(lock):
                raise OSError(errno.EEXIST, f"{lock} exists and is not a PID lock file; "
                              "remove it, or choose another socket path") from None
            os.unlink(lock)  # left by a process that is gone
            _remove_socket(socket_path)
            continue
        atexit.register(release_pid_lock, socket_path, os.getpid())
        return
    raise OSError(errno.EADDRINUSE, f"Address {socket_path!r}: another server took its lock "
                  f"file {lock} while this one started")


def _remove_socket(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)


def release_pid_lock(socket_path: str, pid: int) -> None:
    """Remove the lock and its socket if process `pid` (the one that took it) still owns it,
    and this is that process: a forked worker that exits leaves its supervisor's lock alone."""
    if os.getpid() != pid or _owner(lock_path(socket_path)) != pid:
        return
    _remove_socket(socket_path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(lock_path(socket_path))
