"""Real front servers for the vhost tests: nginx and Apache httpd as subprocesses, each from a
configuration generated in the test's tmp_path (nothing of the system's set-up is used), in the
foreground, on a free loopback port; and the backend, the real `plugserve` command on tcp:0.
A VHostMonster or a trusted-proxy setting is only proven by the front servers people put
before it: what they send upstream (paths, Host, X-Forwarded-*) is theirs, not ours.

`nginx(server_body)` starts one nginx whose single `server {}` holds `server_body`;
`apache(vhost_body)` one httpd whose single `<VirtualHost>` holds `vhost_body`.  Both wait
until the server answers and stop it at teardown, checking that no process of it is left.
`backend(site, *args)` runs `plugserve --path SITE ARGS`, once per HTTP engine.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from plugserve.testing import eventually

__all__ = ["APACHE", "NGINX", "Backend", "Front", "apache", "backend", "nginx"]


def _binary(name: str) -> str | None:
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/local/sbin/{name}") if Path(p).exists()), None)


NGINX = _binary("nginx")
APACHE = _binary("apache2") or _binary("httpd")
APACHE_MODULES = Path("/usr/lib/apache2/modules")

_NGINX_CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
error_log {tmp}/error.log info;
pid {tmp}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        {body}
    }}
}}
"""

# -X: one process, in the foreground.  The Mutex and runtime files stay in tmp.
_APACHE_CONFIG = """\
ServerRoot "{tmp}"
Listen 127.0.0.1:{port}
{modules}
{user}
ServerName localhost
PidFile {tmp}/httpd.pid
ErrorLog {tmp}/error.log
LogLevel info
DefaultRuntimeDir {tmp}
Mutex file:{tmp} default
CustomLog {tmp}/access.log "%h \\"%r\\" %>s"
<VirtualHost 127.0.0.1:{port}>
{body}
</VirtualHost>
"""
_APACHE_MODULES = ("mpm_event", "unixd", "authz_core", "proxy", "proxy_http", "headers")


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


def _processes_with(marker: str) -> list[int]:
    """Pids of live processes whose command line mentions `marker` (a config's folder)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:  # it ended while we looked
            continue
    return found


class Front:
    """One running front server (`name` is nginx or apache) on `port` (`url`), started from
    `command` with its files in `tmp`; `log()` is what it wrote to stderr and its error log."""

    def __init__(self, name: str, tmp: Path, port: int, command: list[str]) -> None:
        self.name = name
        self.tmp = tmp
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._output = (tmp / "stderr.log").open("wb")
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._output,
                                        stderr=subprocess.STDOUT)
        if not eventually(lambda: self.process.poll() is not None or _answers(port)) \
                or self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"{name} did not start:\n{self.log()}")

    def log(self) -> str:
        """Its stderr and error log so far (for a failing test's message)."""
        files = (self.tmp / "stderr.log", self.tmp / "error.log")
        return "".join(f.read_text(errors="replace") for f in files if f.exists())

    def stop(self) -> None:
        """SIGTERM (a fast shutdown for both), SIGKILL if it lingers; then check that no
        process started from this folder's configuration is left."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._output.close()
        left = _processes_with(str(self.tmp))
        assert not left, f"{self.name} left processes {left}:\n{self.log()}"


def _nginx_command(tmp: Path, port: int, body: str) -> list[str]:
    assert NGINX is not None
    config = tmp / "nginx.conf"
    config.write_text(_NGINX_CONFIG.format(tmp=tmp, port=port, body=body))
    # -e: the error log from the very start, before the configuration is read.
    return [NGINX, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(config)]


def _apache_user() -> str:
    """httpd refuses to serve as root: as root its one process drops to nobody (it opens its
    logs and lock files before), as anyone else it stays that user."""
    user = pwd.getpwuid(os.getuid()) if os.getuid() else pwd.getpwnam("nobody")
    return f"User {user.pw_name}\nGroup {grp.getgrgid(user.pw_gid).gr_name}"


def _apache_command(tmp: Path, port: int, body: str) -> list[str]:
    assert APACHE is not None
    # A module that has no file here is compiled in (Debian builds mod_unixd in).
    modules = "\n".join(f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so"
                        for m in _APACHE_MODULES if (APACHE_MODULES / f"mod_{m}.so").exists())
    config = tmp / "httpd.conf"
    config.write_text(_APACHE_CONFIG.format(tmp=tmp, port=port, modules=modules,
                                            user=_apache_user(), body=body))
    return [APACHE, "-X", "-f", str(config)]


def _fronts(tmp_path: Path, name: str,
            command: Callable[[Path, int, str], list[str]]) -> Iterator[Callable[[str], Front]]:
    """A factory of `name` servers, each in a folder of its own, all stopped at teardown."""
    started: list[Front] = []

    def start(body: str) -> Front:
        for attempt in range(3):  # free_port() can lose a race with another process
            folder = tmp_path / f"{name}{len(started)}-{attempt}"
            folder.mkdir()
            port = free_port()
            try:
                server = Front(name, folder, port, command(folder, port, body))
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


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Callable[[str], Front]]:
    """`nginx(server_body)` -> a running nginx; skipped when nginx is not installed."""
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    yield from _fronts(tmp_path, "nginx", _nginx_command)


@pytest.fixture
def apache(tmp_path: Path) -> Iterator[Callable[[str], Front]]:
    """`apache(vhost_body)` -> a running Apache httpd; skipped when it is not installed."""
    if APACHE is None:
        pytest.skip("Apache httpd is not installed (Debian: apt-get install apache2)")
    yield from _fronts(tmp_path, "apache", _apache_command)


class Backend:
    """`python -m plugserve --path SITE ARGS` on tcp:0 (the port read back from its
    'listening on' line), its access log in `access_log`, its stderr in `error_log`.
    Warnings are errors in the server too (PYTHONWARNINGS=error), as in the suite."""

    def __init__(self, site: Path, args: tuple[str, ...], engine: str, tmp: Path) -> None:
        self.access_log = tmp / "access.log"
        self.error_log = tmp / "stderr.log"
        self._errors = self.error_log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "plugserve", "--path", str(site), "--http", engine,
             "--listen", "tcp:0:interface=127.0.0.1", "--logfile", str(self.access_log), *args],
            cwd=tmp, text=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._errors, env={**os.environ, "PYTHONWARNINGS": "error"})
        self.port = self._listening_port()

    def _listening_port(self) -> int:
        assert self.process.stdout is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            if line.startswith("plugserve: listening on "):
                port = urlsplit(line.split(" on ", 1)[1].strip()).port
                assert port is not None, line
                return port
        self.stop()
        raise AssertionError(f"plugserve did not start:\n{self.error_log.read_text()}")

    def access_lines(self, count: int) -> list[str]:
        """The access log's lines once it has `count` (it is written as a response ends)."""
        def lines() -> list[str]:
            text = self.access_log.read_text() if self.access_log.exists() else ""
            return text.splitlines()
        assert eventually(lambda: len(lines()) >= count), lines()
        return lines()

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL if it lingers)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
        self._errors.close()


@pytest.fixture(params=["h11", "httptools"])
def backend(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Backend]]:
    """`backend(site, *args)` -> a running `plugserve --path site args`, on this test's HTTP
    engine; all stopped at teardown."""
    started: list[Backend] = []

    def start(site: Path, *args: str) -> Backend:
        folder = tmp_path / f"backend{len(started)}"
        folder.mkdir()
        server = Backend(site, args, request.param, folder)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
