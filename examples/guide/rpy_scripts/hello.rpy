# Twisted Web guide, ".rpy scripts": a Resource subclass defined in the script itself, so an
# edit shows on the next refresh (the script runs on every request).
# Ported to plugserve: only the import changed.
# Run: plugserve --path examples/guide/rpy_scripts, then visit /hello.rpy
from plugserve.resource import Resource

class MyResource(Resource):
    def render_GET(self, request):
        return b"<html>Hello, world!</html>"

resource = MyResource()
