"""Hello-world peer: Twisted Web (default reactor). Usage: python twisted_hello.py PORT

The access log is disabled (Site.log is a no-op) so that no peer pays for logging.
"""

import sys

from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Request, Site


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        return b"Hello, world!"


class QuietSite(Site):
    def log(self, request: Request) -> None:
        pass


reactor.listenTCP(int(sys.argv[1]), QuietSite(Hello()), interface="127.0.0.1")
reactor.run()
