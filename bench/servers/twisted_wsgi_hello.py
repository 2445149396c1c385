"""WSGI hello-world peer: Twisted Web's `WSGIResource` as the root, on the reactor's default
thread pool (as the Twisted Web guide's WSGI example does), default reactor.

Usage: python twisted_wsgi_hello.py PORT

The access log is disabled (Site.log is a no-op) so that no peer pays for logging.
"""

import sys

from twisted.internet import reactor
from twisted.web.server import Request, Site
from twisted.web.wsgi import WSGIResource
from wsgi_hello_app import application


class QuietSite(Site):
    def log(self, request: Request) -> None:
        pass


resource = WSGIResource(reactor, reactor.getThreadPool(), application)
reactor.listenTCP(int(sys.argv[1]), QuietSite(resource), interface="127.0.0.1")
reactor.run()
