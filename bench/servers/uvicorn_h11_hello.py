"""Hello-world peer: raw ASGI app on uvicorn with the h11 protocol and the asyncio loop.

Usage: python uvicorn_h11_hello.py PORT
"""

import sys
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

Message = dict[str, Any]
BODY = b"Hello, world!"
HEADERS = [(b"content-type", b"text/plain"), (b"content-length", str(len(BODY)).encode())]


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def serve(http: str) -> None:
    """Serve `app` on 127.0.0.1:PORT with uvicorn's `http` protocol (uvicorn_httptools_hello.py
    calls it with "httptools")."""
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        http=http,
        loop="asyncio",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    serve("h11")
