"""Real third-party servers for the proxy tests, run as subprocesses: nginx, from a
configuration generated in the test's tmp_path (nothing of the system's nginx set-up is used),
in the foreground, on a free loopback port.  Interoperating with nginx on both sides of the
proxy is what catches the framing and header bugs that plugserve-to-plugserve tests cannot.

The `nginx` fixture is a factory: `nginx(server_body, http_extra="")` starts one nginx whose
single `server {}` holds `server_body` (locations, roots) and whose `http {}` also holds
`http_extra` (an `upstream` block), waits until it answers, and stops it at teardown.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from plugserve.testing import eventually

__all__ = ["Nginx", "free_port", "nginx"]

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)

_CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
error_log {tmp}/e.log info;
pid {tmp}/n.pid;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ text/html html; image/png png; application/octet-stream bin; }}
    default_type application/octet-stream;
    {http_extra}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        {server_body}
    }}
}}
"""


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (for servers that cannot take tcp:0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Nginx:
    """One running nginx: `port`, `url`, `root` (a folder in tmp_path for static files)."""

    def __init__(self, tmp: Path, server_body: str, http_extra: str = "") -> None:
        assert NGINX is not None
        self.tmp = tmp
        self.root = tmp / "root"
        self.root.mkdir(exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp / "nginx.conf"
        config.write_text(_CONFIG.format(tmp=tmp, port=self.port, http_extra=http_extra,
                                         server_body=server_body.replace("{root}",
                                                                         str(self.root))))
        # -e: the error log from the very start, before the configuration is read.
        self.process = subprocess.Popen(
            [NGINX, "-p", str(tmp), "-e", str(tmp / "e.log"), "-c", str(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not eventually(lambda: self.process.poll() is not None or _answers(self.port)) \
                or self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"nginx did not start:\n{self.error_log()}")

    def error_log(self) -> str:
        """nginx's error log so far (for a failing test's message)."""
        log = self.tmp / "e.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        """Stop nginx (SIGTERM: its fast shutdown), killing it if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Callable[..., Nginx]]:
    """A factory of running nginx servers (each in its own folder of tmp_path), stopped at
    teardown; the test is skipped when nginx is not installed."""
    if NGINX is None:
        pytest.skip("nginx is not installed")
    started: list[Nginx] = []

    def start(server_body: str, http_extra: str = "") -> Nginx:
        for attempt in range(3):  # free_port() can lose a race with another process
            folder = tmp_path / f"nginx{len(started)}-{attempt}"
            folder.mkdir()
            try:
                server = Nginx(folder, server_body, http_extra)
            except RuntimeError as exc:
                if "Address already in use" not in str(exc) or attempt == 2:
                    raise
                continue
            started.append(server)
            return server
        raise AssertionError("unreachable")

    yield start
    for server in started:
        server.stop()
