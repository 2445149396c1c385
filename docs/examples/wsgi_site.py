# docs/examples/wsgi_site.py
"""A WSGI application mounted at /app, next to static files and a page of the site's own.

    plugserve --config docs/examples/wsgi_site.py --listen tcp:8080
    curl http://localhost:8080/app/hello      # SCRIPT_NAME=/app, PATH_INFO=/hello
"""

from plugserve.resource import Resource
from plugserve_static import File
from plugserve_wsgi import WSGIResource


def application(environ, start_response):
    text = f"script {environ['SCRIPT_NAME']!r}, path {environ['PATH_INFO']!r}\n"
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [text.encode()]


class Home(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b'<a href="/app/">the application</a>'


root = Resource()
root.putChild(b"", Home())
root.putChild(b"app", WSGIResource(None, None, application))  # the shared default pool
root.putChild(b"static", File("static"))  # ./static, served by plugserve-static
