"""The resources the example plugin serves."""

from __future__ import annotations

import html

from plugserve.resource import Resource
from plugserve.server import Request


class Greeting(Resource):
    """A page that says one thing, whatever the path."""

    isLeaf = True

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return f"<!DOCTYPE html><title>plugserve</title><h1>{html.escape(self.text)}</h1>".encode()


class Health(Resource):
    """`/_health`: a plain "ok" for load balancers."""

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"text/plain")
        request.setHeader(b"cache-control", b"no-store")
        return b"ok\n"
