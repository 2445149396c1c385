# docs/examples/hello.py
"""The smallest site.

Run it as a script (`python docs/examples/hello.py`) or serve it as a configuration file
(`plugserve --config docs/examples/hello.py`): under --config the `__main__` block does not run.
"""

import plugserve
from plugserve.resource import Resource


class Hello(Resource):
    isLeaf = True  # answer every path here; nothing below it

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"Hello, world!\n"


root = Hello()

if __name__ == "__main__":
    plugserve.run(root, "tcp:8080")
