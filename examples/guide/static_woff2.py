# Twisted Web guide, "Modifying File Resources" (contentTypes): recognise WOFF File Format 2.0
# by changing the contentTypes of the File instance.
# Ported to plugserve: only the imports changed (plugserve_static is imported as `static`; the
# guide's unused `script` import is dropped), and the application/strports service lines are
# replaced by `listen` (which `plugserve --config` reads) and the guarded run line.
# plugserve-static already knows .woff2 (as font/woff2, the registered type since RFC 8081);
# the guide's line still replaces it, so fonts here are served as application/font-woff2.
# The directory is the guide's /srv/fonts unless the FONTS environment variable names another
# one (added so that the tests can serve a temporary tree).
# Run: plugserve --config examples/guide/static_woff2.py [--listen tcp:8080]
#  or: python examples/guide/static_woff2.py   (listens on port 80, as the guide does)
import os

import plugserve
import plugserve_static as static
from plugserve import server

root = static.File(os.environ.get("FONTS", "/srv/fonts"))

root.contentTypes[".woff2"] = "application/font-woff2"

site = server.Site(root)
listen = ["tcp:80"]
if __name__ == "__main__":
    plugserve.run(site, *listen)
