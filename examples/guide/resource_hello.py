# Twisted Web guide, "Resource objects": a leaf Resource that reports request.prepath.
# Ported to plugserve: only the import changed; the guarded run lines at the end are added
# (the guide's snippet has none; `plugserve --config` also finds `resource`).
# As in Twisted on Python 3, `name == ''` compares bytes with str and is never true; the
# resource is a leaf, so getChild is never called anyway.
# Run: python examples/guide/resource_hello.py [tcp:8080]
# ruff: noqa: UP032
import sys

import plugserve
from plugserve.resource import Resource


class Hello(Resource):
    isLeaf = True
    def getChild(self, name, request):
        if name == '':
            return self
        return Resource.getChild(self, name, request)

    def render_GET(self, request):
        output = "Hello, world! I am located at {}.".format(request.prepath)
        return output.encode("utf8")

resource = Hello()
if __name__ == "__main__":
    plugserve.run(resource, sys.argv[1] if len(sys.argv) > 1 else "tcp:8080")
