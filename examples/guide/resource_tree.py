# Twisted Web guide, "Resource Trees": arranging resources with putChild.
# Ported to plugserve: the snippet uses `Hello` from the "Resource objects" example, imported
# here from resource_hello.py; the guarded run lines at the end are added.
# As in Twisted, Hello is a leaf (isLeaf = True), so traversal stops at the root: /fred and /bob
# are valid URLs, but they are rendered by the root (prepath []), not by the children.
# Run: python examples/guide/resource_tree.py [tcp:8080]
import sys

import plugserve
from resource_hello import Hello

root = Hello()
root.putChild(b'fred', Hello())
root.putChild(b'bob', Hello())
if __name__ == "__main__":
    plugserve.run(root, sys.argv[1] if len(sys.argv) > 1 else "tcp:8080")
