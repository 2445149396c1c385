"""The quick-start site: `plugserve --config examples/site.py` serves it on tcp:8080.

A configuration file is plain Python that defines `root` (a Resource) or `site` (a Site), and
may define `listen`.  This one shows the three ways a Twisted-style resource can answer.
"""

import asyncio
import html

from plugserve import reactor
from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET


class Home(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return (
            b"<!DOCTYPE html><title>plugserve</title><h1>Hello from plugserve</h1>"
            b"<ul><li><a href='/visits'>/visits</a>: a session counter</li>"
            b"<li><a href='/clock'>/clock</a>: a page written in three pieces</li>"
            b"<li><a href='/echo?name=you'>/echo?name=you</a>: an async render</li></ul>"
        )


class Visits(Resource):
    isLeaf = True

    def render_GET(self, request):
        session = request.getSession()
        count = (session.getComponent(int) or 0) + 1
        session.setComponent(int, count)
        return f"You have been here {count} time(s) in this session.\n".encode()


class Clock(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.write(b"tick\n")
        reactor.callLater(0.5, request.write, b"tock\n")
        reactor.callLater(1.0, request.finish)
        return NOT_DONE_YET


class Echo(Resource):
    isLeaf = True

    async def render_GET(self, request):
        await asyncio.sleep(0.01)
        name = request.args.get(b"name", [b"world"])[0].decode("utf-8", "replace")
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return f"<p>Hello, {html.escape(name)}!</p>".encode()


root = Resource()
root.putChild(b"", Home())
root.putChild(b"visits", Visits())
root.putChild(b"clock", Clock())
root.putChild(b"echo", Echo())
listen = "tcp:8080"
