# Twisted Web guide, "Resource Scripts": a very simple Resource Script.
# Ported to plugserve: only the import changed.
# Run: plugserve --path examples/guide/rpy_scripts, then visit /great.rpy
from plugserve import resource
class MyGreatResource(resource.Resource):
    def render_GET(self, request):
        return b"<html>foo</html>"

resource = MyGreatResource()
