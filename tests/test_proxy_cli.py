"""plugserve-proxy from the command line: `--reverse-proxy` as the root and mounted, the access
log's upstream fields, start-up errors for bad options, and 1 GB streamed through the proxy in
each direction with its resident memory sampled meanwhile (it must stay under 64 MiB)."""

from __future__ import annotations

import http.client
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.cli_helpers import LOOPBACK, REPO, running

BIG = str(Path(__file__).with_name("proxy_big_upstream.py"))
GIB = 1024 ** 3


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    """The highest RSS of `pid` while it runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.samples, self.stop = pid, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.peak = max(self.peak, _rss_kib(self.pid))
            self.samples += 1


def test_reverse_proxy_root_and_mount_with_the_access_log() -> None:
    with running(["--config", BIG, "--listen", LOOPBACK]) as upstream, running(
            ["--reverse-proxy", upstream.urls[0] + "/", "--reverse-proxy",
             f"/sub={upstream.urls[0]}/", "--listen", LOOPBACK, "--logfile", "-"]) as proxy:
        assert requests.get(proxy.urls[0] + "/big?n=10", timeout=10).content == b"x" * 10
        assert requests.get(proxy.urls[0] + "/sub/big?n=3", timeout=10).content == b"xxx"
        proxy.process.terminate()
        out, _ = proxy.process.communicate(timeout=20)
    port = urlsplit(upstream.urls[0]).port
    lines = [line for line in out.splitlines() if '"GET /' in line]
    assert len(lines) == 2
    assert all(f"upstream=127.0.0.1:{port} upstream_time=" in line for line in lines)


@pytest.mark.parametrize(("args", "message"), [
    (["--reverse-proxy", "ftp://x/"], "http://host:port/path"),
    (["--reverse-proxy", "http://x:99999/"], "port"),
    (["--reverse-proxy", "unix:relative.sock"], "unix:/absolute"),
    (["--reverse-proxy", "http://a/", "--reverse-proxy", "http://b/"], "only one URL"),
    (["--plugin", "proxy", "--proxy-allow-client", "not-a-net"], "CIDR"),
    (["--plugin", "proxy", "--proxy-connect-ports", "443,x"], "port numbers"),
    (["--plugin", "proxy", "--proxy-timeout", "0"], "above 0"),
])
def test_bad_options_are_start_up_errors(args: list[str], message: str) -> None:
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "plugserve", *args, "--listen", LOOPBACK],
                          cwd=REPO, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_gigabyte_each_way_in_bounded_memory() -> None:
    with running(["--config", BIG, "--listen", LOOPBACK, "--max-body", str(2 * GIB)]) as up, \
            running(["--reverse-proxy", up.urls[0] + "/", "--listen", LOOPBACK,
                     "--max-body", str(2 * GIB)]) as proxy:
        parts = urlsplit(proxy.urls[0])
        assert parts.hostname is not None and parts.port is not None
        sampler = Sampler(proxy.process.pid)
        sampler.start()
        started = time.monotonic()
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        conn.request("GET", f"/big?n={GIB}")
        response = conn.getresponse()
        received = 0
        while chunk := response.read(1 << 20):
            received += len(chunk)
        assert received == GIB
        block = b"y" * (1 << 20)

        def body():  # a chunked upload of 1 GiB
            for _ in range(1024):
                yield block

        conn.request("POST", "/count", body=body(), encode_chunked=True)
        answer = conn.getresponse().read()
        conn.close()
        sampler.stop.set()
        sampler.join()
        assert answer == str(GIB).encode()
        print(f"2 GiB through the proxy in {time.monotonic() - started:.1f} s, "
              f"peak RSS {sampler.peak / 1024:.1f} MiB over {sampler.samples} samples")
        assert sampler.samples > 10
        assert sampler.peak < 64 * 1024, f"peak RSS {sampler.peak} KiB"
