"""Real third-party servers for the proxy tests: nginx as a subprocess, from a configuration
generated in the test's tmp_path (nothing of the system's nginx set-up is used), in the
foreground, on a free loopback port; and a `websockets` echo server on a thread of its own.
Interoperating with other implementations is what catches the framing and header bugs that
plugserve-to-plugserve tests cannot.

The `nginx` fixture is a factory: `nginx(server_body, http_extra="")` starts one nginx whose
single `server {}` holds `server_body` (locations, roots) and whose `http {}` also holds
`http_extra` (an `upstream` block), waits until it answers, and stops it at teardown.  The
`ws_echo` fixture is a running `WebSocketEcho`.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from plugserve.testing import eventually
from websockets.asyncio.server import ServerConnection, serve

__all__ = ["Nginx", "WebSocketEcho", "free_port", "nginx", "ws_echo"]

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


class WebSocketEcho:
    """A `websockets` server (asyncio, on its own loop in a thread) that sends every message
    back as it came (text stays text, binary binary), up to 16 MiB.  `seen` holds, per
    connection, the request's path and headers (lower-case names) and, once it ended, the close
    code it received: what crossed the proxy, and whether the closing handshake did."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),),
                                        name="websocket-echo", daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the websocket server did not start"

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._echo, "127.0.0.1", 0, max_size=16 * 2**20) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _echo(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        record: dict[str, Any] = {
            "path": ws.request.path,
            "headers": [(n.lower(), v) for n, v in ws.request.headers.raw_items()],
            "close_code": None}
        self.seen.append(record)
        async for message in ws:
            await ws.send(message)
        record["close_code"] = ws.close_code

    def close(self) -> None:
        """Stop the server (open connections are closed with 1001) and end its thread."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture
def ws_echo() -> Iterator[WebSocketEcho]:
    """A running WebSocketEcho, stopped at teardown."""
    server = WebSocketEcho()
    yield server
    server.close()
