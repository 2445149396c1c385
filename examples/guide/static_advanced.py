# Twisted Web guide, "Advanced Configuration": a configuration file whose root resource is a
# static.File for a directory, served by a Site.
# Ported to plugserve: only the imports changed (plugserve_static is imported as `static`, so
# `static.File` reads as in the guide), and the application/strports service lines are replaced
# by `listen` (which `plugserve --config` reads) and the guarded run line.
# The directory is the guide's /var/www/htdocs unless the HTDOCS environment variable names
# another one (added so that the tests can serve a temporary tree).
# Run: plugserve --config examples/guide/static_advanced.py [--listen tcp:8080]
#  or: python examples/guide/static_advanced.py   (listens on port 80, as the guide does)
import os

import plugserve
import plugserve_static as static
from plugserve import server

root = static.File(os.environ.get("HTDOCS", "/var/www/htdocs"))
site = server.Site(root)
listen = ["tcp:80"]
if __name__ == "__main__":
    plugserve.run(site, *listen)
