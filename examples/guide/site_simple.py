# Twisted Web guide, "Configuring and Using the Twisted Web Server" > "Site Objects":
# creating a Site by hand around a root resource.
# Ported to plugserve: only the imports and the last lines (endpoint + reactor.run()) changed.
# Run: python examples/guide/site_simple.py [tcp:8080]
import sys

import plugserve
from plugserve import resource, server


class Simple(resource.Resource):
    isLeaf = True
    def render_GET(self, request):
        return b"<html>Hello, world!</html>"

site = server.Site(Simple())
if __name__ == "__main__":
    plugserve.run(site, sys.argv[1] if len(sys.argv) > 1 else "tcp:8080")
