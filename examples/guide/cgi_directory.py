# Twisted Web guide, "Adding Children" (the second example): a File root whose cgi-bin child is
# a CGIDirectory, so every executable file of /var/www/cgi-bin runs as a CGI script.
# Ported to plugserve: only the imports changed (`static` is plugserve-static's module, `twcgi`
# plugserve-cgi's), and the endpoint/reactor lines are replaced by `listen` (which
# `plugserve --config` reads) and the guarded run line.
# The directories are the guide's /var/www/htdocs and /var/www/cgi-bin unless the HTDOCS and
# CGIBIN environment variables name others (added so that the tests can serve temporary trees).
# Run: plugserve --config examples/guide/cgi_directory.py [--listen tcp:8080]
#  or: python examples/guide/cgi_directory.py   (listens on port 80, as the guide does)
import os

import plugserve
import plugserve_static as static
from plugserve import server
from plugserve_cgi import twcgi

root = static.File(os.environ.get("HTDOCS", "/var/www/htdocs"))
root.putChild(b"cgi-bin", twcgi.CGIDirectory(os.environ.get("CGIBIN", "/var/www/cgi-bin")))
listen = ["tcp:80"]
if __name__ == "__main__":
    plugserve.run(server.Site(root), *listen)
