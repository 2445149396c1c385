# docs/examples/rpy_hello.rpy
# A resource script: the file sets `resource`, which renders the request.  It runs again for
# every request, so an edit shows on the next refresh.
import time

from plugserve.resource import Resource


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return f"Hello from {__file__.rsplit('/', 1)[-1]}, run at {time.ctime()}\n".encode()


resource = Hello()
