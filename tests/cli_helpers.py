"""Running the real `plugserve` command in a subprocess, as users and scripts do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOOPBACK = "tcp:0:interface=127.0.0.1"


def plugserve_command(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m plugserve ARGS` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "plugserve", *args],
        capture_output=True, text=True, timeout=30, cwd=cwd, env=env,
    )


class Running:
    """A plugserve process that printed its listening lines."""

    def __init__(self, process: subprocess.Popen[str], urls: list[str],
                 lines: list[str] | None = None) -> None:
        self.process = process
        self.urls = urls
        self.url = urls[0]
        #: What it printed on stdout up to its last listening line.
        self.lines = lines or []

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> tuple[int, str, str]:
        """Send `sig`, wait, and return (status, stdout rest, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err


@contextmanager
def running(args: Sequence[str], cwd: Path = REPO, env: dict[str, str] | None = None,
            count: int = 1) -> Iterator[Running]:
    """Start `plugserve ARGS` and wait for `count` listening lines."""
    process = subprocess.Popen(
        [sys.executable, "-m", "plugserve", *args], cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    urls: list[str] = []
    lines: list[str] = []
    deadline = time.monotonic() + 20
    assert process.stdout is not None
    while len(urls) < count and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("plugserve: listening on "):
            urls.append(line.split(" on ", 1)[1].strip())
    if len(urls) < count:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"plugserve did not start: {out}\n{err}")
    handle = Running(process, urls, lines)
    try:
        yield handle
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
