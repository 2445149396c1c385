#!/usr/bin/env python3
"""plugserve.client against httpcore, the two candidates for the proxy's upstream client.

Issue 14 asked for both to be measured before choosing.  Each client, in one asyncio process
pinned to CPU 0, fetches from one nginx pinned to CPU 1 (started here, on a free port, with a
config in a temporary directory): a 4 KiB file `--requests` times from `--concurrency` tasks
over a keep-alive pool, then a 100 MiB file `--big` times, read chunk by chunk as a proxy
would.  It prints req/s and the client's CPU per request for the first, MB/s and CPU per GB
for the second, `--runs` times interleaved, and the medians.

Needs a Python with plugserve, httpcore and sniffio (`.venv/bin/pip install httpcore sniffio`;
without sniffio, httpcore retries a failed import on every request) and nginx:
    .venv/bin/python bench/client.py [--requests 20000] [--concurrency 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpcore
from plugserve.client import ConnectionPool, Upstream

SMALL = 4096
BIG = 100 * 1024 * 1024
NGINX_CONF = """daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid;
error_log {d}/error.log; events {{ worker_connections 1024; }}
http {{ access_log off; sendfile on; keepalive_requests 1000000;
  client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f;
  uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
  server {{ listen 127.0.0.1:{port}; root {d}/www; }} }}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_nginx(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    """nginx serving small (4 KiB) and big (100 MiB) from `directory`, pinned to CPU 1."""
    www = directory / "www"
    www.mkdir()
    (www / "small").write_bytes(b"s" * SMALL)
    with open(www / "big", "wb") as big:  # real bytes: a sparse file is no disk's page cache
        block = os.urandom(1024 * 1024)
        for _ in range(BIG // len(block)):
            big.write(block)
    port = free_port()
    conf = directory / "nginx.conf"
    conf.write_text(NGINX_CONF.format(d=directory, port=port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen(["taskset", "-c", "1", nginx, "-c", str(conf), "-p",
                                str(directory)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("nginx did not start")


async def ours_small(port: int, total: int, concurrency: int) -> None:
    pool = ConnectionPool(max_idle=concurrency)
    upstream = Upstream("127.0.0.1", port)
    headers = [(b"host", f"127.0.0.1:{port}".encode())]

    async def worker(count: int) -> None:
        for _ in range(count):
            response = await pool.request(upstream, b"GET", b"/small", headers)
            assert len(await response.read()) == SMALL

    await asyncio.gather(*(worker(total // concurrency) for _ in range(concurrency)))
    await pool.aclose()


async def httpcore_small(port: int, total: int, concurrency: int) -> None:
    async with httpcore.AsyncConnectionPool(max_connections=concurrency) as pool:
        url = f"http://127.0.0.1:{port}/small"

        async def worker(count: int) -> None:
            for _ in range(count):
                response = await pool.request("GET", url)
                assert len(response.content) == SMALL

        await asyncio.gather(*(worker(total // concurrency) for _ in range(concurrency)))


async def ours_big(port: int, times: int) -> None:
    pool = ConnectionPool()
    upstream = Upstream("127.0.0.1", port)
    for _ in range(times):
        response = await pool.request(upstream, b"GET", b"/big",
                                      [(b"host", f"127.0.0.1:{port}".encode())])
        got = 0
        while (chunk := await response.read_chunk()) is not None:
            got += len(chunk)
        assert got == BIG
    await pool.aclose()


async def httpcore_big(port: int, times: int) -> None:
    async with httpcore.AsyncConnectionPool() as pool:
        for _ in range(times):
            got = 0
            async with pool.stream("GET", f"http://127.0.0.1:{port}/big") as response:
                async for chunk in response.aiter_stream():
                    got += len(chunk)
            assert got == BIG


def timed(make: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of running `make()` to completion."""
    wall, cpu = time.perf_counter(), time.process_time()
    asyncio.run(make())  # type: ignore[arg-type]
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--big", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    results: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        nginx, port = start_nginx(Path(scratch))
        try:
            for _ in range(args.runs):
                for name, small, big in (("plugserve.client", ours_small, ours_big),
                                         ("httpcore", httpcore_small, httpcore_big)):
                    wall, cpu = timed(lambda s=small: s(port, args.requests, args.concurrency))
                    results.setdefault(name + " 4 KiB", []).append(
                        (args.requests / wall, cpu / args.requests * 1e6))
                    wall, cpu = timed(lambda b=big: b(port, args.big))
                    gigabytes = args.big * BIG / 1e9
                    results.setdefault(name + " 100 MiB", []).append(
                        (gigabytes * 1000 / wall, cpu / gigabytes))
        finally:
            nginx.terminate()
            nginx.wait()
    print(f"httpcore {httpcore.__version__}; {args.runs} runs, medians")
    for name, rows in results.items():
        rate = statistics.median(r for r, _ in rows)
        cpu = statistics.median(c for _, c in rows)
        unit = ("req/s", "µs CPU/request") if "4 KiB" in name else ("MB/s", "s CPU/GB")
        print(f"{name:28} {rate:10,.0f} {unit[0]:6} {cpu:8.2f} {unit[1]}")


if __name__ == "__main__":
    main()
