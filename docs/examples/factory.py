# docs/examples/factory.py
"""A server below the resource tree: Twisted's `HTTPFactory`/`HTTPChannel`/`Request` shape.

Each request processes itself, with no Site and no resources, as Twisted's forward proxy does.
Serve it as a configuration file (`plugserve --config docs/examples/factory.py`), or run it as a
script (`python docs/examples/factory.py`), which serves it on port 8080.
"""

from plugserve import http


class EchoRequest(http.Request):
    """Answers every request with its method and target; everything else is 405."""

    def process(self):
        if self.method not in (b"GET", b"HEAD"):
            self.setResponseCode(http.NOT_ALLOWED)
            self.setHeader(b"allow", b"GET, HEAD")
            self.finish()
            return
        self.setHeader(b"content-type", b"text/plain; charset=utf-8")
        self.write(b"%s %s\n" % (self.method, self.uri))
        self.finish()


class EchoChannel(http.HTTPChannel):
    requestFactory = EchoRequest


class EchoFactory(http.HTTPFactory):
    def buildProtocol(self, addr):
        return EchoChannel()


factory = EchoFactory()

if __name__ == "__main__":
    import plugserve

    plugserve.run(factory, "tcp:8080")
