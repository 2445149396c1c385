# docs/examples/rewrite_site.py
"""Rewrite rules: `/~alice/x` is served by `/users/alice/x`, `/about` by `/pages/about`.

    plugserve --config docs/examples/rewrite_site.py
"""

from plugserve.resource import Resource
from plugserve.rewrite import RewriterResource, alias, tildeToUsers


class Show(Resource):
    """A leaf that shows where traversal brought the request."""

    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"uri=%s path=%s prepath=%r postpath=%r\n" % (
            request.uri, request.path, request.prepath, request.postpath)


tree = Resource()
tree.putChild(b"", Show())
tree.putChild(b"users", Show())
tree.putChild(b"pages", Show())

# The rules run on the path that is left, before traversal goes on into `tree`.
root = RewriterResource(tree, tildeToUsers, alias(b"about", b"pages/about"))
