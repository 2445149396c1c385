"""Static-file peer: Twisted Web's `static.File` (default reactor).

Usage: python twisted_static.py PORT DIR

The access log is disabled (Site.log is a no-op) so that no peer pays for logging.
"""

import sys

from twisted.internet import reactor
from twisted.web.server import Request, Site
from twisted.web.static import File


class QuietSite(Site):
    def log(self, request: Request) -> None:
        pass


reactor.listenTCP(int(sys.argv[1]), QuietSite(File(sys.argv[2])), interface="127.0.0.1")
reactor.run()
