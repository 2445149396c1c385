# docs/examples/rpy_cached.rpy
# cache(): the first run builds the resource and keeps it in the registry; later runs stop at
# cache() and get the kept one, so the expensive part below runs once.  Replace cache() with
# recache() while editing: every run then builds and keeps a new one.
cache()

from plugserve.resource import Resource


def expensive_table():
    return {n: n * n for n in range(10_000)}


class Squares(Resource):
    isLeaf = True

    def __init__(self, table):
        super().__init__()
        self.table = table

    def render_GET(self, request):
        arg = request.args.get(b"n", [b"12"])[0]
        n = int(arg) if arg.isdigit() else 12
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return f"{n} squared is {self.table.get(n, n * n)}\n".encode()


resource = Squares(expensive_table())
