"""WSGI hello-world application shared by every WSGI peer of bench/run.py.

plugserve (`--wsgi wsgi_hello_app:application`), gunicorn and waitress import it by name with
this directory on the path; servers/twisted_wsgi_hello.py imports it directly.  It answers the
same 13-byte body as the other hello-world peers, with a Content-Length, so every server can
keep the connection alive (gunicorn's sync worker closes it anyway).
"""

from collections.abc import Callable, Iterable
from typing import Any

BODY = b"Hello, world!"
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
