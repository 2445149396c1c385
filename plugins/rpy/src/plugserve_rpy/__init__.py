"""plugserve-rpy: Twisted Web's .rpy resource scripts for plugserve, run on every request.

    # hello.rpy, in a tree served by `plugserve --path DIR`
    from plugserve.resource import Resource

    class Hello(Resource):
        isLeaf = True
        def render_GET(self, request):
            return b"Hello, world!"

    resource = Hello()

From Python, `ResourceScript` is the processor for `File.processors[".rpy"]`,
`ResourceScriptDirectory(path)` serves every .rpy file of a folder by name, and
`ResourceScriptWrapper(path)` serves one script as a whole tree.
"""

from ._directory import ResourceScriptDirectory
from ._script import AlreadyCached, CacheScanner, ResourceScript
from ._wrapper import ResourceScriptWrapper

__all__ = [
    "AlreadyCached",
    "CacheScanner",
    "ResourceScript",
    "ResourceScriptDirectory",
    "ResourceScriptWrapper",
]
