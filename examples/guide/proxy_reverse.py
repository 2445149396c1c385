# Twisted Web guide, "Using the Twisted Web Server" > "Proxies and reverse proxies" >
# "ReverseProxyResource": a basic reverse proxy.
# Ported to plugserve: only the imports and the run lines (endpoint + reactor.run()) changed.
# Run: python examples/guide/proxy_reverse.py [tcp:8080], then visit http://localhost:8080/
import sys

import plugserve
from plugserve import server
from plugserve_proxy import proxy

site = server.Site(proxy.ReverseProxyResource('www.yahoo.com', 80, ''))
if __name__ == "__main__":
    plugserve.run(site, sys.argv[1] if len(sys.argv) > 1 else "tcp:8080")
