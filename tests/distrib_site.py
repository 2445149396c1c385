"""A personal server's site for the tests (`plugserve --personal --config personal_site.py`):
/info says what the server believes about the request, /upload hashes the body, /slow waits,
/die dies mid-response, /files/ is a folder."""

import asyncio
import hashlib
import json
import os

from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET, Site
from plugserve_static import File


class Info(Resource):
    isLeaf = True

    def render_GET(self, request):
        session = request.getSession()
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({
            "prePathURL": request.prePathURL().decode(),
            "client": request.getClientAddress().host,
            "secure": request.isSecure(),
            "host": request.getRequestHostname().decode(),
            "uri": request.uri.decode(),
            "session": session.uid.decode(),
            "headers": {k.decode(): [v.decode() for v in vs]
                        for k, vs in request.requestHeaders.getAllRawHeaders()},
        }).encode()


class Upload(Resource):
    isLeaf = True

    def render_POST(self, request):
        data = request.content.read()
        return f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode()


class Slow(Resource):
    isLeaf = True

    def render_GET(self, request):
        return self._slow(request)

    async def _slow(self, request):
        await asyncio.sleep(float(request.args.get(b"s", [b"2"])[0]))
        return b"done"


class Die(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-length", b"1000000")
        request.write(b"x" * 65536)
        asyncio.get_running_loop().call_later(0.2, os._exit, 3)
        return NOT_DONE_YET  # the process dies with the body unfinished


root = Resource()
root.putChild(b"info", Info())
root.putChild(b"upload", Upload())
root.putChild(b"slow", Slow())
root.putChild(b"die", Die())
root.putChild(b"files", File(os.path.join(os.environ["HOME"], "public_html")))
site = Site(root)
