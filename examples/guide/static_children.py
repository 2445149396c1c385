# Twisted Web guide, "Adding Children" (the first example): the root's children come from the
# filesystem, and an explicit putChild adds /doc, the documentation of the installed packages.
# Ported to plugserve: only the imports changed (plugserve_static is imported as `static`), and
# the endpoint/reactor lines are replaced by `listen` (which `plugserve --config` reads) and the
# guarded run line.  The guide's second example (a cgi-bin child, twcgi.CGIDirectory) is
# examples/guide/cgi_directory.py.
# The directories are the guide's /var/www/htdocs and /usr/share/doc unless the HTDOCS and
# DOCDIR environment variables name others (added so that the tests can serve temporary trees).
# Run: plugserve --config examples/guide/static_children.py [--listen tcp:8080]
#  or: python examples/guide/static_children.py   (listens on port 80, as the guide does)
import os

import plugserve
import plugserve_static as static
from plugserve import server

root = static.File(os.environ.get("HTDOCS", "/var/www/htdocs"))
root.putChild(b"doc", static.File(os.environ.get("DOCDIR", "/usr/share/doc")))
listen = ["tcp:80"]
if __name__ == "__main__":
    plugserve.run(server.Site(root), *listen)
