# Twisted Web guide, "Using the Twisted Web Server" > "Virtual Hosts": a NameVirtualHost root
# with a default site, two simple virtual hosts, and "baz", whose site uses Resource Scripts.
# Ported to plugserve: only the imports changed (`vhost` is plugserve-vhost's module, `static`
# plugserve-static's, `script` plugserve-rpy's), and the application/strports service lines
# are replaced by `listen`, which `plugserve --config` reads, and the guarded run line.
# The sites live under the guide's /var/www unless the WWW environment variable names another
# directory (added so that the tests can serve temporary trees).
# Run: plugserve --config examples/guide/vhost_names.py [--listen tcp:8080]
#  or: python examples/guide/vhost_names.py   (listens on port 80, as the guide does)
import os

import plugserve
import plugserve_rpy as script
import plugserve_static as static
from plugserve import server
from plugserve_vhost import vhost

www = os.environ.get("WWW", "/var/www")

root = vhost.NameVirtualHost()

# Add a default -- htdocs
root.default=static.File(www + "/htdocs")

# Add a simple virtual host -- foo.com
root.addHost("foo.com", static.File(www + "/foo"))

# Add a simple virtual host -- bar.com
root.addHost("bar.com", static.File(www + "/bar"))

# The "baz" people want to use Resource Scripts in their web site
baz = static.File(www + "/baz")
baz.processors = {'.rpy': script.ResourceScript}
baz.ignoreExt('.rpy')
root.addHost('baz', baz)

site = server.Site(root)
listen = ["tcp:80"]
if __name__ == "__main__":
    plugserve.run(site, *listen)
