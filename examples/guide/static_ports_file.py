# Twisted Web guide, "Advanced Techniques": "Determine ports we listen on based on a file with
# numbers" -- one listening port per number in /etc/web/ports, all serving the same Site.
# Ported to plugserve: only the imports changed (plugserve_static is imported as `static`; the
# guide's unused `vhost` import is dropped), and the application/service lines are replaced by
# `listen`, a list that `plugserve --config` reads (the loop appends to it where the guide
# added a strports service), and the guarded run line.
# The paths are the guide's /var/www/htdocs and /etc/web/ports unless the HTDOCS and WEB_PORTS
# environment variables name others (added so that the tests can use temporary files).
# Run: plugserve --config examples/guide/static_ports_file.py
#  or: python examples/guide/static_ports_file.py
# (`--listen` on the command line would replace every port of the file.)
import os

import plugserve
import plugserve_static as static
from plugserve import server

root = static.File(os.environ.get("HTDOCS", "/var/www/htdocs"))

site = server.Site(root)
listen = []

with open(os.environ.get("WEB_PORTS", "/etc/web/ports")) as f:
    for num in map(int, f.read().split()):
        listen.append(
            "tcp:{}".format(num)  # noqa: UP032 - the guide's line
        )
if __name__ == "__main__":
    plugserve.run(site, *listen)
