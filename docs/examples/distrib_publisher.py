# docs/examples/distrib_publisher.py
"""A personal server built in Python: the site of --personal, with a page of its own.

Run it as the user whose site it is (the socket goes in their home):
    plugserve --config docs/examples/distrib_publisher.py
and it is served by `plugserve --user` at /NAME.plugserve/ and /~NAME/.
"""

import os

from plugserve.resource import Resource
from plugserve.server import Site
from plugserve_distrib import ResourcePublisher


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request):
        # Behind the front server: the client's address and the URL the client used.
        who = request.getClientAddress().host
        return f"Hello {who}, this is {request.prePathURL().decode()}\n".encode()


root = Resource()
root.putChild(b"", Hello())
site = ResourcePublisher(Site(root))
listen = [f"unix:{os.path.expanduser('~/.plugserve-web.sock')}:mode=0666:wantPID=1"]
