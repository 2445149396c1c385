# docs/examples/ported.py
"""A Twisted Web .tac file after porting (see docs/configuration.md for the diff).

    plugserve --config docs/examples/ported.py
"""

from plugserve import reactor, resource, server, util


class Clock(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        request.write(b"tick\n")
        reactor.callLater(1, request.finish)
        return server.NOT_DONE_YET


root = resource.Resource()
root.putChild(b"clock", Clock())
root.putChild(b"", util.Redirect(b"/clock"))

site = server.Site(root)
listen = "tcp:8080"
