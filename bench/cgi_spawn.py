#!/usr/bin/env python3
"""How a process is started, which dominates CGI: a micro-benchmark.

Times N starts (start, then wait for the exit) of /bin/true and of a sh hello script (the
cgi-hello scenario's) three ways: subprocess.Popen as CPython does it by default (vfork+exec on
Linux, Python 3.11+, when nothing forbids it), Popen with `subprocess._USE_VFORK = False`
(fork+exec), and os.posix_spawn directly.  A fourth way is plugserve-cgi's own Popen arguments
(plugins/cgi/src/plugserve_cgi/_process.py: close_fds=True, start_new_session=True, cwd).
Prints the wall-clock µs per start and the CPU µs per start (this process's plus its reaped
children's, from os.times()).

Usage: python3 bench/cgi_spawn.py [N]   (default 2000)

Only the standard library is used.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HELLO_SH = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\necho 'Hello, world!'\n"


def popen(argv: list[str], **kwargs: object) -> Callable[[], None]:
    def start() -> None:
        subprocess.Popen(argv, stdout=subprocess.DEVNULL, **kwargs).wait()  # type: ignore[call-overload]

    return start


def spawn(argv: list[str]) -> Callable[[], None]:
    def start() -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            pid = os.posix_spawn(
                argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)]
            )
        finally:
            os.close(devnull)
        os.waitpid(pid, 0)

    return start


def measure(start: Callable[[], None], count: int, fork: bool) -> tuple[float, float]:
    """(wall µs, CPU µs) per start."""
    saved = subprocess._USE_VFORK  # type: ignore[attr-defined]
    subprocess._USE_VFORK = not fork  # type: ignore[attr-defined]
    try:
        for _ in range(count // 10):
            start()  # warm-up
        before, clock = os.times(), time.perf_counter()
        for _ in range(count):
            start()
        wall, after = time.perf_counter() - clock, os.times()
    finally:
        subprocess._USE_VFORK = saved  # type: ignore[attr-defined]
    cpu = sum(after[:4]) - sum(before[:4])
    return 1e6 * wall / count, 1e6 * cpu / count


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "hello.sh"
        script.write_text(HELLO_SH)
        script.chmod(0o755)
        print(f"Python {sys.version.split()[0]}, {count} starts each; µs per start")
        print("| program | way | wall µs | CPU µs |\n|---|---|---:|---:|")
        for argv in (["/bin/true"], [str(script)]):
            ways: list[tuple[str, Callable[[], None], bool]] = [
                ("Popen default (vfork)", popen(argv), False),
                ("Popen, _USE_VFORK = False (fork)", popen(argv), True),
                ("os.posix_spawn", spawn(argv), False),
                (
                    "Popen as plugserve-cgi (close_fds, start_new_session, cwd)",
                    popen(argv, close_fds=True, start_new_session=True, cwd=folder),
                    False,
                ),
            ]
            for name, start, fork in ways:
                wall, cpu = measure(start, count, fork)
                print(f"| {argv[0]} | {name} | {wall:,.0f} | {cpu:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
