# Twisted Web guide, "Serving WSGI Applications": the `helloworld` module whose `application`
# `twistd -n web --wsgi=helloworld.application` serves.
# Ported to plugserve: nothing changed (a WSGI application imports nothing from Twisted).
# Saved as helloworld.py, it is served as in the guide: `plugserve --wsgi helloworld.application`
# from the folder that holds it.  Here: cd examples/guide && plugserve --wsgi
# wsgi_helloworld.application [--listen tcp:8080]
def application(environ, start_response):
    """Basic WSGI Application"""
    start_response('200 OK', [('Content-type','text/plain')])
    return [b'Hello World!']
