# docs/examples/wsgi_threads.py
"""A WSGI application as the root, in a pool of 16 threads of its own.

    plugserve --config docs/examples/wsgi_threads.py --listen tcp:8080
"""

import time
from concurrent.futures import ThreadPoolExecutor

from plugserve_wsgi import WSGIResource


def application(environ, start_response):
    time.sleep(0.05)  # a database query: the thread waits, the event loop serves others
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"done\n"]


pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="myapp")
root = WSGIResource(None, pool, application)
