"""Hello-world peer: uvicorn_h11_hello.py's raw ASGI app on uvicorn with the httptools protocol
and the asyncio loop.

Usage: python uvicorn_httptools_hello.py PORT
"""

from uvicorn_h11_hello import serve

serve("httptools")
