# Twisted Web guide, "Serving WSGI Applications": a WSGI application served as the root
# resource of a site, with a thread pool (the guide's myapp.tac).
# Ported to plugserve: only the imports changed (ThreadPool and WSGIResource come from
# plugserve_wsgi, reactor and server from plugserve), and the application/strports service
# lines are replaced by `site` and `listen` (which `plugserve --config` reads) and the guarded
# run line.  The guide's `reactor.addSystemEventTrigger('after', 'shutdown',
# wsgiThreadPool.stop)` is left out: plugserve's reactor has no system events, and the pool's
# threads are joined when the process exits.
# Run: plugserve --config examples/guide/wsgi_resource_root.py [--listen tcp:8080]
#  or: python examples/guide/wsgi_resource_root.py   (listens on port 8080, as the guide does)
import plugserve
from plugserve import reactor, server
from plugserve_wsgi import ThreadPool, WSGIResource

# Create and start a thread pool,
wsgiThreadPool = ThreadPool()
wsgiThreadPool.start()

def application(environ, start_response):
    """A basic WSGI application"""
    start_response('200 OK', [('Content-type','text/plain')])
    return [b'Hello World!']

# Create the WSGI resource
wsgiAppAsResource = WSGIResource(reactor, wsgiThreadPool, application)

site = server.Site(wsgiAppAsResource)
listen = ["tcp:8080"]
if __name__ == "__main__":
    plugserve.run(site, *listen)
