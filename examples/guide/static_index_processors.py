# Twisted Web guide, "Modifying File Resources" (indexNames and processors): every .rpy file is
# a Resource Script, and a directory is rendered by its index.rpy.
# Ported to plugserve: only the imports changed (plugserve_static is imported as `static`), and
# the application/strports service lines are replaced by `listen` (which `plugserve --config`
# reads) and the guarded run line.
# `script` (twisted.web.script) is the plugserve-rpy plugin's `plugserve_rpy`.
# The directory is the guide's /var/www/htdocs unless the HTDOCS environment variable names
# another one (added so that the tests can serve a temporary tree), e.g. the guide's scripts:
# HTDOCS=examples/guide/rpy_scripts plugserve --config examples/guide/static_index_processors.py
# Run: plugserve --config examples/guide/static_index_processors.py [--listen tcp:8080]
#  or: python examples/guide/static_index_processors.py   (listens on port 80, as the guide does)
import os

import plugserve
import plugserve_rpy as script
import plugserve_static as static
from plugserve import server

root = static.File(os.environ.get("HTDOCS", "/var/www/htdocs"))
root.indexNames=['index.rpy']
root.processors = {'.rpy': script.ResourceScript}
site = server.Site(root)
listen = ["tcp:80"]
if __name__ == "__main__":
    plugserve.run(site, *listen)
