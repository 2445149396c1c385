# Twisted Web guide, "Using the Twisted Web Server" > "Proxies and reverse proxies" > "Proxy":
# a simple but complete web proxy.
# Ported to plugserve: only the imports and the run lines (endpoint + reactor.run()) changed.
# Run: python examples/guide/proxy_forward.py [tcp:8080], then
#      curl -x http://localhost:8080 http://example.org/
import sys

import plugserve
from plugserve import http
from plugserve_proxy import proxy


class ProxyFactory(http.HTTPFactory):
    def buildProtocol(self, addr):
        return proxy.Proxy()

factory = ProxyFactory()
if __name__ == "__main__":
    plugserve.run(factory, sys.argv[1] if len(sys.argv) > 1 else "tcp:8080")
