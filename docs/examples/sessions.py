# docs/examples/sessions.py
"""Sessions: a per-browser counter, and a logout that expires the session.

    plugserve --config docs/examples/sessions.py --session-timeout 600
"""

from plugserve.resource import Resource


class Counter:
    """What this site keeps in a session (any class can be the key)."""

    def __init__(self):
        self.visits = 0


class Visits(Resource):
    isLeaf = True

    def render_GET(self, request):
        session = request.getSession()  # sets the TWISTED_SESSION cookie on first use
        counter = session.getComponent(Counter)
        if counter is None:
            counter = Counter()
            session.setComponent(Counter, counter)
        counter.visits += 1
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"visits: %d\n" % counter.visits


class Logout(Resource):
    isLeaf = True

    def render_POST(self, request):
        request.getSession().expire()
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"bye\n"


root = Resource()
root.putChild(b"", Visits())
root.putChild(b"logout", Logout())
