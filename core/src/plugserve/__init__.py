"""plugserve: Twisted Web's object model on asyncio and h11, with every feature a plugin.

    from plugserve.resource import Resource
    import plugserve

    class Hello(Resource):
        isLeaf = True
        def render_GET(self, request):
            return b"Hello, world!"

    plugserve.run(Hello(), "tcp:8080")
"""

from ._entry import run
from ._reactor import reactor
from ._run import serve
from ._transport.listener import Server
from ._version import __version__
from .config import Config
from .hookspecs import hookimpl

__all__ = ["Config", "Server", "__version__", "hookimpl", "reactor", "run", "serve"]
