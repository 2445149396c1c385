"""Hello-world peer: plugserve. Usage: python plugserve_hello.py PORT"""

import sys

import plugserve
from plugserve.resource import Resource


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request: object) -> bytes:
        return b"Hello, world!"


# No access log, like the other peers (the driver also sends stdout/stderr to a file).
plugserve.run(Hello(), f"tcp:{sys.argv[1]}:interface=127.0.0.1", access_log=False,
              http_engine="h11")
