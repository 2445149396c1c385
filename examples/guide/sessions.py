# Twisted Web guide, "Session": request.getSession() finds the session of this browser through
# its cookie, or creates one (and sets the cookie); data stored on it survives between requests.
# The guide has prose only here; this is Twisted's "Web in 60 seconds" session example
# (ShowSession / ExpireSession) ported to plugserve (only the import changed), plus a visit
# counter kept in the session with setComponent/getComponent, and the guarded run lines.
# Run: python examples/guide/sessions.py [tcp:8080], then visit /session
import sys

import plugserve
from plugserve.resource import Resource


class ShowSession(Resource):
    def render_GET(self, request):
        return b'Your session id is: ' + request.getSession().uid


class ExpireSession(Resource):
    def render_GET(self, request):
        request.getSession().expire()
        return b'Your session has been expired.'


class IVisits:
    """Key of the per-session visit count."""


class CountVisits(Resource):
    def render_GET(self, request):
        session = request.getSession()
        visits = (session.getComponent(IVisits) or 0) + 1
        session.setComponent(IVisits, visits)
        return b"You have been here %d times in this session." % visits


resource = ShowSession()
resource.putChild(b'expire', ExpireSession())
resource.putChild(b'count', CountVisits())
if __name__ == "__main__":
    # Like an .rpy file, `resource` is not a site root ("/" would look up the child b""): it is
    # served at /session.
    root = Resource()
    root.putChild(b"session", resource)
    plugserve.run(root, sys.argv[1] if len(sys.argv) > 1 else "tcp:8080")
