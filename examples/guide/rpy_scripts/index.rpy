# Twisted Web guide, "Modifying File Resources": the index.rpy that renders this directory when
# `indexNames` is ['index.rpy'] (examples/guide/rpy_configs/index_processors.py), or by default
# (index.rpy is one of File's default index names).  The guide does not show one; this one
# links to the other scripts of the guide.
# Run: plugserve --path examples/guide/rpy_scripts, then visit /
from plugserve.resource import Resource

PAGES = [
    (b"hello.rpy", b"Hello, world (a Resource subclass in the script)"),
    (b"reloading.rpy", b"a Resource from a module, reloaded on every request"),
    (b"great.rpy", b"MyGreatResource"),
    (b"counter.rpy", b"a visitor counter kept in the registry"),
]

class Index(Resource):
    isLeaf = True

    def render_GET(self, request):
        items = b"".join(b'<li><a href="%s">%s</a>: %s</li>' % (name, name, text)
                         for name, text in PAGES)
        return b"<html><h1>Resource scripts</h1><ul>" + items + b"</ul></html>"

resource = Index()
