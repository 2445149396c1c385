"""What the distrib tests share: a fake user database over temporary homes, a real front
server over it (`plugserve --config distrib_front.py`, the UserDirectory that `--user` serves,
with this database), and real `plugserve --personal` processes, one per user, each with HOME
set to that user's home."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from tests.cli_helpers import LOOPBACK, Running, running

HERE = Path(__file__).parent


class Entry(NamedTuple):
    """A `pwd.struct_passwd` look-alike."""

    pw_name: str
    pw_passwd: str
    pw_uid: int
    pw_gid: int
    pw_gecos: str
    pw_dir: str
    pw_shell: str


class UserDatabase:
    """`getpwnam` and `getpwall` over users added with `add`."""

    def __init__(self) -> None:
        self.users: dict[str, Entry] = {}

    def add(self, name: str, home: Path, gecos: str = "", uid: int | None = None) -> Entry:
        entry = Entry(name, "x", os.getuid() if uid is None else uid,
                      os.getgid() if uid is None else uid, gecos, str(home), "/bin/sh")
        self.users[name] = entry
        return entry

    def getpwnam(self, name: str) -> Entry:
        return self.users[name]

    def getpwall(self) -> list[Entry]:
        return list(self.users.values())

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps([list(e) for e in self.users.values()]))
        return path

    @classmethod
    def load(cls, path: str) -> UserDatabase:
        db = cls()
        for fields in json.loads(Path(path).read_text()):
            entry = Entry(*fields)
            db.users[entry.pw_name] = entry
        return db


@contextmanager
def front(db: UserDatabase, tmp: Path, *flags: str) -> Iterator[Running]:
    """A running front server (UserDirectory over `db`) on a loopback port."""
    users = db.save(tmp / "users.json")
    with running(["--config", str(HERE / "distrib_front.py"), "--listen", LOOPBACK, *flags],
                 env={"DISTRIB_USERS": str(users)}) as server:
        yield server


class Personal:
    """A running `plugserve --personal ARGS` with HOME=`home` (as `uid` when given)."""

    def __init__(self, home: Path, *args: str, uid: int | None = None) -> None:
        self.home = home
        self.socket = home / ".plugserve-web.sock"
        env = {**os.environ, "HOME": str(home)}
        # setpriv (util-linux), not Popen(user=...): this one also runs an interpreter that
        # sits under /root (pyenv), as the test's own does.
        as_uid = ([] if uid is None else
                  ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"])
        self.process = subprocess.Popen(
            [*as_uid, sys.executable, "-m", "plugserve", "--personal", *args], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(home))
        deadline = time.monotonic() + 15
        while not _accepts(self.socket):
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.stop()
                raise RuntimeError(f"the personal server did not start: {output}")
            time.sleep(0.05)

    def stop(self) -> str:
        """Stop it (SIGTERM, then SIGKILL) and return what it printed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        assert self.process.stdout is not None
        output = self.process.stdout.read().decode("utf-8", "replace")
        self.process.stdout.close()
        return output


def _accepts(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def home(root: Path, name: str, *, site: bool = True, uid: int | None = None) -> Path:
    """A home folder `root/name`, with a public_html holding index.html and sub/a.txt."""
    folder = root / name
    (folder / "public_html" / "sub").mkdir(parents=True) if site else folder.mkdir()
    if site:
        (folder / "public_html" / "index.html").write_text(f"<p>{name}'s files</p>")
        (folder / "public_html" / "sub" / "a.txt").write_text("a" * 4096)
    if uid is not None:
        for path in (folder, *folder.rglob("*")):
            os.chown(path, uid, uid)
    return folder

