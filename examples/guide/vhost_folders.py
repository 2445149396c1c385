# Twisted Web guide, "Advanced Techniques": "No need for configuration of virtual hosts -- just
# make sure a directory /var/vhosts/<vhost name> exists" -- one virtual host per folder.
# Ported to plugserve: only the imports changed (`vhost` is plugserve-vhost's module, `static`
# plugserve-static's; the guide's loop uses `os` without importing it, so it is imported), and
# the application/strports service lines are replaced by `listen`, which `plugserve --config`
# reads, and the guarded run line.
# The folders are the guide's /var/vhosts and /var/www/htdocs unless the VHOSTS and HTDOCS
# environment variables name others (added so that the tests can serve temporary trees).
# `plugserve --vhost-dir /var/vhosts` does the same and also sees folders added later.
# Run: plugserve --config examples/guide/vhost_folders.py [--listen tcp:8080]
#  or: python examples/guide/vhost_folders.py   (listens on port 80, as the guide does)
import os

import plugserve
import plugserve_static as static
from plugserve import server
from plugserve_vhost import vhost

vhosts = os.environ.get("VHOSTS", "/var/vhosts")

root = vhost.NameVirtualHost()
root.default = static.File(os.environ.get("HTDOCS", "/var/www/htdocs"))
for dir in os.listdir(vhosts):
    root.addHost(dir, static.File(os.path.join(vhosts, dir)))

site = server.Site(root)
listen = ["tcp:80"]
if __name__ == "__main__":
    plugserve.run(site, *listen)
