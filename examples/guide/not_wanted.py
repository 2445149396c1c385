# Twisted Web guide, "Knowing When We're Not Wanted": request.notifyFinish() tells whether the
# client stayed until request.finish() (callback) or went away first (errback).
# Ported to plugserve: only the imports changed; the guarded run lines at the end are added.
# Run: python examples/guide/not_wanted.py [tcp:8080], then visit /example
import sys

import plugserve
from plugserve import reactor, server
from plugserve.resource import Resource
from plugserve.util import println


class ExampleResource(Resource):

    def render_GET(self, request):
        request.write(b"hello world")
        d = request.notifyFinish()
        d.addCallback(lambda _: println("finished normally"))
        d.addErrback(println, "error")
        reactor.callLater(10, request.finish)
        return server.NOT_DONE_YET

resource = ExampleResource()
if __name__ == "__main__":
    # Like an .rpy file, `resource` is not a site root ("/" would look up the child b""): it is
    # served at /example.
    root = Resource()
    root.putChild(b"example", resource)
    plugserve.run(root, sys.argv[1] if len(sys.argv) > 1 else "tcp:8080")
