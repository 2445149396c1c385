# docs/examples/serve_api.py
"""Embedding plugserve in an asyncio program: start, use, stop.

    python docs/examples/serve_api.py
"""

import asyncio

import plugserve
from plugserve.resource import Resource


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"Hello from an embedded server\n"


root = Hello()  # also lets `plugserve --config` serve this file


async def main():
    config = plugserve.Config(access_log=False, max_body_bytes=1024 * 1024)
    server = await plugserve.serve(root, "tcp:0:interface=127.0.0.1", config=config)
    print("listening on", server.addresses)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    print((await reader.read()).decode())
    writer.close()
    await server.close()  # graceful: requests in flight get config.shutdown_timeout_s


if __name__ == "__main__":
    asyncio.run(main())
