"""Fixtures of the static tests: a tree with a secret beside its root, and a server factory that
runs every test twice, with sendfile and with the chunked fallback."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from static_data import DATA, SECRET


@pytest.fixture
def tree(tmp_path):
    """tmp_path/secret.txt beside tmp_path/www, the served root."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    www = tmp_path / "www"
    www.mkdir()
    (www / "hello.txt").write_bytes(b"hello world\n")
    (www / "data.bin").write_bytes(DATA)
    (www / "unknown.qqzz7").write_bytes(b"??")
    (www / "noext").write_bytes(b"<p>no extension</p>")
    (www / "style.woff2").write_bytes(b"wOF2")
    (www / "app.js").write_bytes(b"1;")
    (www / ".secret").write_bytes(b"dot")
    (www / ".well-known").mkdir()
    (www / ".well-known" / "security.txt").write_bytes(b"Contact: x")
    sub = www / "sub"
    sub.mkdir()
    (sub / "a b&<c>.txt").write_bytes(b"odd name")
    (sub / "zdir").mkdir()
    (sub / '"q".txt').write_bytes(b"q")
    (www / "withindex").mkdir()
    (www / "withindex" / "index.html").write_bytes(b"<h1>index</h1>")
    os.symlink(www / "hello.txt", www / "link_in")
    os.symlink(tmp_path / "secret.txt", www / "link_out")
    os.symlink(tmp_path / "nowhere", www / "broken")
    return www


@pytest.fixture(params=[True, False], ids=["sendfile", "fallback"])
def serve(request, plugserve_server):
    """serve(resource, **config) -> a running TestServer, with sendfile on or off."""

    def start(resource, **settings):
        return plugserve_server(resource, sendfile=request.param, **settings)

    return start


#: The uid/gid a root test run serves as, so that a mode-000 file really is unreadable.
NOBODY = 65534


class Unprivileged:
    """A server of `directory` that cannot read a mode-000 file: root reads every file, so as
    root it is a forked child that dropped to uid/gid 65534 before serving (forked, because
    the interpreter itself may sit below a folder that uid cannot enter: everything serving
    needs is imported before the fork, by a first server in this process).  As another user it
    is that first server."""

    def __init__(self, directory: Path, warm: Any) -> None:
        self.pid = 0
        self.url = warm.url
        if os.geteuid() != 0:
            return
        for path in [directory, *directory.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        warm.get("/")  # every module a request needs is loaded now
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: drop privileges, serve until killed
            os.close(read_end)
            status = 1
            try:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                asyncio.run(_serve_forever(directory, write_end))
            finally:
                os._exit(status)
        os.close(write_end)
        with os.fdopen(read_end) as reader:
            port = reader.readline().strip()
        assert port, "the unprivileged server did not start"
        self.pid = pid
        self.url = f"http://127.0.0.1:{port}"

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    def close(self) -> None:
        if self.pid:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


async def _serve_forever(directory: Path, report_fd: int) -> None:
    from plugserve import serve
    from plugserve.config import Config
    from plugserve_static import File

    server = await serve(File(str(directory)), "tcp:0:interface=127.0.0.1",
                         config=Config(access_log=False))
    os.write(report_fd, f"{server.port}\n".encode())
    os.close(report_fd)
    await asyncio.Event().wait()


@pytest.fixture
def unprivileged(plugserve_server: Any) -> Iterator[Callable[[Path], Unprivileged]]:
    """unprivileged(directory) -> a server of that folder that cannot read a mode-000 file."""
    started: list[Unprivileged] = []

    def start(directory: Path) -> Unprivileged:
        from plugserve_static import File

        started.append(Unprivileged(directory, plugserve_server(File(str(directory)))))
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture
def public_tmp() -> Iterator[Path]:
    """A folder every uid can reach (pytest's tmp_path sits below a 0700 folder as root)."""
    path = Path(tempfile.mkdtemp(prefix="plugserve-static-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
