# docs/examples/config_site.py
"""A configuration file that builds the Site itself and says where to listen.

    plugserve --config docs/examples/config_site.py
    plugserve --config docs/examples/config_site.py --listen tcp:9000   # --listen wins
"""

from plugserve.resource import Resource
from plugserve.server import GzipEncoderFactory, Site


class Status(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/json")
        return b'{"status": "ok"}\n'


root = Resource()
root.putChild(b"", Status())
root.putChild(b"status", Status())

site = Site(root)
site.add_header(b"x-content-type-options", b"nosniff")  # on every response, errors included
site.use_encoders([GzipEncoderFactory()])  # like --encode gzip

listen = ["tcp:8080:interface=127.0.0.1", "tcp:8081:interface=127.0.0.1"]
