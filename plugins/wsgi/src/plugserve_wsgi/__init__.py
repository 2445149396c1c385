"""plugserve-wsgi: serve any WSGI application (PEP 3333) with Twisted Web's `WSGIResource`.

    from plugserve_wsgi import WSGIResource

    root.putChild(b"app", WSGIResource(None, None, application))   # SCRIPT_NAME is /app

From the command line: `plugserve --wsgi myapp:app`.
"""

from ._files import FileWrapper
from ._resource import WSGIResource
from ._threads import ThreadPool

__all__ = ["FileWrapper", "ThreadPool", "WSGIResource"]
