# Twisted Web guide, "Request encoders": EncodingResourceWrapper with GzipEncoderFactory.
# Ported to plugserve: only the imports and the last lines (endpoint + reactor.run()) changed.
# Run: python examples/guide/request_encoders.py [tcp:8080]
import sys

import plugserve
from plugserve.resource import EncodingResourceWrapper, Resource
from plugserve.server import GzipEncoderFactory, Site


class Simple(Resource):
    isLeaf = True
    def render_GET(self, request):
        return b"<html>Hello, world!</html>"

resource = Simple()
wrapped = EncodingResourceWrapper(resource, [GzipEncoderFactory()])
site = Site(wrapped)
if __name__ == "__main__":
    plugserve.run(site, sys.argv[1] if len(sys.argv) > 1 else "tcp:8080")
