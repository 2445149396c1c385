# Twisted Web guide, "Resource rendering": the three ways a render method can produce output.
# The guide has prose only here; each resource below is one of its bullets:
#   1. return a byte string (ReturnBytes; also `render_POST = render_GET`, as the guide suggests
#      for resources that treat GET and POST arguments alike);
#   2. call request.write() as often as desired, then request.finish(), and return
#      server.NOT_DONE_YET (WriteThenFinish);
#   3. get a Deferred, return server.NOT_DONE_YET, and write and finish later in a callback on
#      the Deferred (DelayedRender, after Twisted's "Web in 60 seconds" asynchronous example,
#      with `reactor.callLater` firing the Deferred instead of `deferLater`).
# Run: python examples/guide/rendering.py [tcp:8080]
import sys

import plugserve
from plugserve import reactor, server
from plugserve.defer import Deferred
from plugserve.resource import Resource

DELAY = 0.5  # seconds before DelayedRender answers


class ReturnBytes(Resource):
    isLeaf = True

    def render_GET(self, request):
        name = request.args.get(b"name", [b"world"])[0]
        return b"<html>Hello, " + name + b"!</html>"

    render_POST = render_GET


class WriteThenFinish(Resource):
    isLeaf = True

    def render_GET(self, request):
        for part in (b"<html>", b"stuff, ", b"more stuff", b"</html>"):
            request.write(part)
        request.finish()
        return server.NOT_DONE_YET


class DelayedRender(Resource):
    isLeaf = True

    def _delayedRender(self, request):
        request.write(b"<html><body>Sorry to keep you waiting.</body></html>")
        request.finish()

    def render_GET(self, request):
        d = Deferred()
        d.addCallback(self._delayedRender)
        reactor.callLater(DELAY, d.callback, request)
        return server.NOT_DONE_YET


root = Resource()
root.putChild(b"bytes", ReturnBytes())
root.putChild(b"write", WriteThenFinish())
root.putChild(b"delayed", DelayedRender())
site = server.Site(root)
if __name__ == "__main__":
    plugserve.run(site, sys.argv[1] if len(sys.argv) > 1 else "tcp:8080")
