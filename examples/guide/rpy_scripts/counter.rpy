# Twisted Web guide, "Resource Scripts": a resource script that keeps persistent data (a visitor
# counter) in the `registry`, so the count outlives each run of the script and its edits.
# Ported to plugserve: only the import changed (SillyWeb.py is next to this script).
# Run: plugserve --path examples/guide/rpy_scripts, then visit /counter.rpy and refresh
from plugserve import resource
from SillyWeb import Counter

counter = registry.getComponent(Counter)
if not counter:
   registry.setComponent(Counter, Counter())
counter = registry.getComponent(Counter)

class MyResource(resource.Resource):
    def render_GET(self, request):
        counter.increment()
        output = "you are visitor {}".format(counter.getValue())
        return output.encode("utf8")

resource = MyResource()
