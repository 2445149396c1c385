# docs/examples/rpy_counter.rpy
# State that outlives a request (and an edit of this file) lives in the `registry`, keyed by
# anything hashable; a variable of the script starts afresh on every run.
from plugserve.resource import Resource

hits = registry.getComponent("hits")
if hits is None:
    hits = {"count": 0}
    registry.setComponent("hits", hits)


class Counter(Resource):
    isLeaf = True

    async def render_GET(self, request):  # async render methods work too
        hits["count"] += 1
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return f"{hits['count']} visits\n".encode()


resource = Counter()
