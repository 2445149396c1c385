# docs/examples/tree.py
"""A resource tree: static and dynamic children, a leaf, a redirect, streaming, async.

    plugserve --config docs/examples/tree.py
"""

import asyncio

from plugserve import reactor
from plugserve.resource import NoResource, Resource
from plugserve.server import NOT_DONE_YET
from plugserve.util import Redirect, redirectTo


class Index(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"<a href='/users/'>users</a> <a href='/countdown'>countdown</a>\n"


class User(Resource):
    def __init__(self, name):
        super().__init__()
        self.name = name

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"user " + self.name + b"\n"


class UserList(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"<a href='alice'>alice</a> <a href='bob'>bob</a>\n"


class Users(Resource):
    """/users/ lists, /users/NAME is built on demand; anything else is 404."""

    def getChild(self, name, request):
        if name == b"":
            return UserList()
        if name.isalnum():
            return User(name)
        return NoResource()

    def render_GET(self, request):
        # "/users" without the trailing slash ends here: send the browser to "/users/".
        return redirectTo(request.prePathURL() + b"/", request)


class Files(Resource):
    """A leaf: the rest of the path stays in request.postpath."""

    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"prepath=%r postpath=%r\n" % (request.prepath, request.postpath)


class Countdown(Resource):
    """NOT_DONE_YET: write now, write later, finish; stop if the client goes away."""

    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        pending = []

        def tick(n):
            if n:
                request.write(b"%d\n" % n)
                pending.append(reactor.callLater(0.2, tick, n - 1))
            else:
                request.write(b"liftoff\n")
                request.finish()

        request.notifyFinish().addErrback(lambda reason: pending[-1].cancel())
        tick(3)
        return NOT_DONE_YET


class Slow(Resource):
    """An async render: await anything, then return the body."""

    isLeaf = True

    async def render_GET(self, request):
        await asyncio.sleep(0.1)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"done\n"


root = Resource()
root.putChild(b"", Index())  # "/" is the child b"" of the root
root.putChild(b"users", Users())
root.putChild(b"files", Files())
root.putChild(b"countdown", Countdown())
root.putChild(b"slow", Slow())
root.putChild(b"old", Redirect(b"/"))
