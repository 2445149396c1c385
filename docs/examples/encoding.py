# docs/examples/encoding.py
"""Compression: only /report is gzipped here (run with --encode gzip to compress everything).

    plugserve --config docs/examples/encoding.py
    curl -si -H 'Accept-Encoding: gzip' localhost:8080/report | head
"""

from plugserve.resource import EncodingResourceWrapper, Resource
from plugserve.server import GzipEncoderFactory


class Report(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"".join(b"line %d of a long report\n" % i for i in range(1000))


class Index(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"<a href='/report'>gzipped when accepted</a> <a href='/plain'>never gzipped</a>\n"


root = Resource()
root.putChild(b"", Index())
root.putChild(b"report", EncodingResourceWrapper(Report(), [GzipEncoderFactory()]))
root.putChild(b"plain", Report())
