"""CGI peer: Twisted Web's `twisted.web.twcgi.CGIDirectory` at /cgi-bin (default reactor).

Usage: python twisted_cgi.py PORT DIR

Every executable file of DIR is a CGI script at /cgi-bin/NAME: one process per request,
started by the reactor's spawnProcess (fork+exec here: Twisted takes its posix_spawnp path only
when the script's folder is the server's working directory, and DIR is a fresh temporary
folder), whose environment is the CGI variables plus the whole of this process's os.environ.
The access log is disabled (Site.log is a no-op) so that no peer pays for logging.
"""

import sys

from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Request, Site
from twisted.web.twcgi import CGIDirectory


class QuietSite(Site):
    def log(self, request: Request) -> None:
        pass


root = Resource()
root.putChild(b"cgi-bin", CGIDirectory(sys.argv[2]))
reactor.listenTCP(int(sys.argv[1]), QuietSite(root), interface="127.0.0.1")
reactor.run()
