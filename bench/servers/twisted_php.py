"""PHP peer: Twisted Web's `static.File` with a `twcgi.FilteredScript` subclass as the
processor of `.php` files, its `filter` the php-cgi program (default reactor).

Usage: REDIRECT_STATUS=200 python twisted_php.py PORT DIR [PHP_CGI]   (default /usr/bin/php-cgi)

GET /NAME.php runs `PHP_CGI DIR/NAME.php`, one process per request (fork+exec, as in
twisted_cgi.py).  Twisted's FilteredScript sets no REDIRECT_STATUS, and php-cgi refuses to run
a script without it (its `cgi.force_redirect` defaults to on), but Twisted copies the whole of
this process's os.environ into every script's environment: so the server must be started with
REDIRECT_STATUS=200 in its own environment (bench/cgi_scenarios.py does).  The access log is
disabled (Site.log is a no-op) so that no peer pays for logging.
"""

import sys

from twisted.internet import reactor
from twisted.web.server import Request, Site
from twisted.web.static import File
from twisted.web.twcgi import FilteredScript


class PHPCGIScript(FilteredScript):
    filter = sys.argv[3] if len(sys.argv) > 3 else "/usr/bin/php-cgi"


class QuietSite(Site):
    def log(self, request: Request) -> None:
        pass


root = File(sys.argv[2])
root.processors = {".php": PHPCGIScript}
reactor.listenTCP(int(sys.argv[1]), QuietSite(root), interface="127.0.0.1")
reactor.run()
