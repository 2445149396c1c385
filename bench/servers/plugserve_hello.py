"""Hello-world peer: plugserve on its h11 engine. Usage: python plugserve_hello.py PORT"""

import sys

import plugserve
from plugserve.resource import Resource


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request: object) -> bytes:
        return b"Hello, world!"


def serve(engine: str) -> None:
    """Serve Hello on 127.0.0.1:PORT with `engine` (plugserve_httptools_hello.py: "httptools").
    No access log, like the other peers (the driver also sends stdout/stderr to a file)."""
    plugserve.run(Hello(), f"tcp:{sys.argv[1]}:interface=127.0.0.1", access_log=False,
                  http_engine=engine)


if __name__ == "__main__":
    serve("h11")
