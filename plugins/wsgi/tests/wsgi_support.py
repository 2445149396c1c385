"""Helpers of the WSGI tests: requests over plugserve.testing's raw client, and small apps.

Every application a test serves goes through `wsgiref.validate.validator` (see conftest's
`serve`), and pytest turns warnings into errors, so any PEP 3333 slip by the server fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from plugserve import testing
from plugserve.testing import RawClient, RawResponse, read_response

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]


class Client(RawClient):
    """One keep-alive connection to a test server (plugserve.testing's RawClient), with the
    requests the WSGI tests send."""

    def __init__(self, server: Any, timeout: float = 10.0) -> None:
        super().__init__((server.host, server.port), timeout=timeout)

    def request(self, method: str, target: str, body: bytes = b"",
                headers: Iterable[tuple[str, str]] = ()) -> RawResponse:
        head = [f"{method} {target} HTTP/1.1", "Host: test.example:8123", *(
            f"{n}: {v}" for n, v in headers)]
        if body or method in ("POST", "PUT"):
            head.append(f"Content-Length: {len(body)}")
        self.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        return self.response(method.encode())


def read_reply(stream: BinaryIO, method: bytes = b"GET") -> RawResponse:
    """One complete response from `stream` (strictly read); fails if there is none."""
    reply = read_response(stream, method)
    assert reply is not None, "the server closed the connection instead of answering"
    return reply


def fetch(server: Any, method: str, target: str, body: bytes = b"",
          headers: Iterable[tuple[str, str]] = ()) -> RawResponse:
    """One request on a fresh connection."""
    with Client(server) as client:
        return client.request(method, target, body, headers)


def raw(server: Any, data: bytes, method: bytes = b"GET") -> RawResponse:
    """Send raw bytes on a fresh connection and read one response."""
    with Client(server) as client:
        client.send(data)
        return client.response(method)


# -- applications ------------------------------------------------------------------------------


def environ_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """The environ's str values (and a few wsgi.* keys) as JSON, plus the body."""
    data: dict[str, Any] = {k: v for k, v in environ.items() if isinstance(v, str)}
    for key in ("wsgi.version", "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once",
                "wsgi.input_terminated"):
        data[key] = environ.get(key)
    data["has_file_wrapper"] = "wsgi.file_wrapper" in environ
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data["body"] = environ["wsgi.input"].read(length).decode("latin-1")
    body = json.dumps(data).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def hello_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """Twisted's guide application."""
    start_response("200 OK", [("Content-type", "text/plain")])
    return [b"Hello World!"]


class Tracked:
    """A response iterable that records how far it got and whether close() was called."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.produced = 0
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.produced += 1
            yield chunk

    def close(self) -> None:
        self.closed.set()



# -- the command -------------------------------------------------------------------------------

LOOPBACK = "tcp:0:interface=127.0.0.1"


class Command:
    """`python -m plugserve ARGS` running in `cwd` until stop(); `url` once it listens.

    Warnings are errors in the server process too (PYTHONWARNINGS=error), as in the suite."""

    def __init__(self, args: list[str], cwd: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "plugserve", *args], cwd=cwd, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONWARNINGS": "error", **(env or {})})
        self.url = ""
        deadline = time.monotonic() + 20
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            if line.startswith("plugserve: listening on "):
                self.url = line.split(" on ", 1)[1].strip()
                break
        if not self.url:
            self.process.kill()
            out, err = self.process.communicate()
            raise AssertionError(f"plugserve did not start:\n{out}\n{err}")
        parts = urlsplit(self.url)
        self.host: str = parts.hostname or ""
        self.port: int = parts.port or 0

    def __enter__(self) -> Command:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()

    def stop(self) -> tuple[int, str]:
        """SIGINT, then the exit status and stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=15)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.communicate()
        return self.process.returncode, err


def run_command(args: list[str], cwd: str) -> tuple[int, str]:
    """Run `python -m plugserve ARGS` to its end; return (status, stderr)."""
    done = subprocess.run([sys.executable, "-m", "plugserve", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=30,
                          env={**os.environ, "PYTHONWARNINGS": "error"})
    return done.returncode, done.stderr


def eventually(predicate: Callable[[], object], limit: float = 10) -> bool:
    """Poll `predicate` until it is true (True) or `limit` seconds have passed (False)."""
    return testing.eventually(predicate, limit)
