# Twisted Web guide, ".rpy scripts": the module that reloading.rpy imports and reloads.  The guide
# does not show it; this one is the guide's MyResource moved into a module.
from plugserve.resource import Resource


class MyResource(Resource):
    def render_GET(self, request):
        return b"<html>Hello from myresource.py</html>"
