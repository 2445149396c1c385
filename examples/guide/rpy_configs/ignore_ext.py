# Twisted Web guide, "Modifying File Resources" (ignoreExt): extension-less URLs, so that /foo
# is served by the Resource Script foo.rpy when no file called foo exists.
# Ported to plugserve: only the imports changed (plugserve_static is imported as `static` and
# plugserve_rpy as `script`), and the application/strports service lines are replaced by
# `listen` (which `plugserve --config` reads) and the guarded run line.
# The directory is the guide's /var/www/htdocs unless the HTDOCS environment variable names
# another one, e.g. the guide's scripts in examples/guide/rpy_scripts (then /counter counts):
# Run: HTDOCS=examples/guide/rpy_scripts \
#          plugserve --config examples/guide/rpy_configs/ignore_ext.py --listen tcp:8080
#  or: python examples/guide/rpy_configs/ignore_ext.py   (port 80, as the guide does)
import os

import plugserve
import plugserve_rpy as script
import plugserve_static as static
from plugserve import server

root = static.File(os.environ.get("HTDOCS", "/var/www/htdocs"))
root.ignoreExt(".rpy")
root.processors = {'.rpy': script.ResourceScript}
site = server.Site(root)
listen = ["tcp:80"]
if __name__ == "__main__":
    plugserve.run(site, *listen)
