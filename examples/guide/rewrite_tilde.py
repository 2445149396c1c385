# Twisted Web guide, "Rewriting URLs": RewriterResource with the tildeToUsers rule, so that
# /~foo/bar.html is treated like /users/foo/bar.html.
# Ported to plugserve: the guide's one line is kept as is (`default_root = ...`).  The guide sets
# default's `users` child to a distrib.UserDirectory (per-user servers, not part of this port);
# to make the snippet runnable, `default` and a small stand-in UserDirectory are defined here,
# and the guarded run lines at the end are added.
# Run: python examples/guide/rewrite_tilde.py [tcp:8080]
import sys

import plugserve
from plugserve import rewrite
from plugserve.resource import Resource


class UserPage(Resource):
    """Stand-in for a user's site: shows where traversal put the request."""

    isLeaf = True

    def __init__(self, user):
        super().__init__()
        self.user = user

    def render_GET(self, request):
        rest = b"/".join(request.postpath)
        return b"user " + self.user + b", page /" + rest + b", path " + request.path


class UserDirectory(Resource):
    """Stand-in for distrib.UserDirectory: /users/<name>/... is that user's site."""

    def getChild(self, name, request):
        return UserPage(name)


default = Resource()
default.putChild(b"users", UserDirectory())

default_root = rewrite.RewriterResource(default, rewrite.tildeToUsers)
if __name__ == "__main__":
    plugserve.run(default_root, sys.argv[1] if len(sys.argv) > 1 else "tcp:8080")
