"""What the CGI tests share: real scripts in a folder, a script that reports what reached it,
settings changed for one test, and the child processes the server (this process: TestServer runs
it in a thread) has left."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from plugserve_cgi import _settings

#: A Python CGI script that answers with its environment, argv, stdin and working directory.
DUMP = f"""#!{sys.executable}
import json, os, sys
body = sys.stdin.buffer.read()
sys.stdout.write("Content-Type: application/json\\r\\n\\r\\n")
sys.stdout.write(json.dumps({{"env": {{k: v for k, v in os.environ.items()
                                     if k not in ("LC_CTYPE", "PWD", "SHLVL", "_")}},
                             "argv": sys.argv[1:], "body": body.decode("latin-1"),
                             "cwd": os.getcwd()}}))
"""


def use(**changes: Any) -> None:
    """Run the scripts of this test with these settings changed."""
    _settings.use(_settings.CGISettings(**{**_settings.current().__dict__, **changes}))


class Scripts:
    """A cgi-bin folder: `add(name, text)` writes an executable script."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, name: str, text: str, executable: bool = True) -> Path:
        script = self.path / name
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(text)
        script.chmod(0o755 if executable else 0o644)
        return script


def children() -> list[tuple[int, str]]:
    """(pid, state) of this process's children: live ones and zombies ("Z")."""
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me:
            found.append((int(entry), fields[0]))
    return found


#: The children this process had when the running test started (conftest sets it): services
#: that other tests' session fixtures keep running are not the CGI scripts' leftovers.
baseline: set[int] = set()


def new_children() -> list[tuple[int, str]]:
    """(pid, state) of the children (zombies included) started since the test began."""
    return [(pid, state) for pid, state in children() if pid not in baseline]


def alive(pid: int) -> bool:
    """Whether process `pid` exists (and is not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
