"""A --config file for the proxy's streaming tests: GET /big?n=N streams N bytes without
holding them, POST /count reads the body as it arrives and answers its length."""

from plugserve.resource import Resource


class Big(Resource):
    isLeaf = True
    stream_request_body = True

    async def render_GET(self, request):
        size = int(request.args[b"n"][0])
        request.setHeader(b"content-length", str(size).encode())
        block = b"x" * 262144
        while size > 0:
            request.write(block[:size])
            size -= len(block)
            await request.wait_writable()
        request.finish()

    async def render_POST(self, request):
        total = 0
        async for chunk in request.content:
            total += len(chunk)
        return str(total).encode()


root = Big()
