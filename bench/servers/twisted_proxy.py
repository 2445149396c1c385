"""Reverse-proxy peer: Twisted Web's `twisted.web.proxy.ReverseProxyResource` as the root of a
`Site` (default reactor), relaying every request to the origin.

Usage: python twisted_proxy.py PORT ORIGIN_PORT

`ReverseProxyResource('127.0.0.1', ORIGIN_PORT, b'')`, as Twisted's documentation shows it:
one new HTTP/1.0 connection to the origin per request (Twisted's ProxyClient sends
`Connection: close`), and since ProxyClient copies the origin's `Connection: close` into the
response, the client's connection closes after each response too: wrk reconnects for every
request, keep-alive or not.  It is left as Twisted ships it.  The access log is disabled
(Site.log is a no-op) so that no peer pays for logging.
"""

import sys

from twisted.internet import reactor
from twisted.web.proxy import ReverseProxyResource
from twisted.web.server import Request, Site


class QuietSite(Site):
    def log(self, request: Request) -> None:
        pass


resource = ReverseProxyResource("127.0.0.1", int(sys.argv[2]), b"")
reactor.listenTCP(int(sys.argv[1]), QuietSite(resource), interface="127.0.0.1")
reactor.run()
