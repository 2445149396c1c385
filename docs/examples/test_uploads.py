# docs/examples/test_uploads.py
"""Request bodies read as they arrive, and work that stops when the client goes away; with
their tests (`python -m pytest docs/examples/test_uploads.py`).

    plugserve --config docs/examples/test_uploads.py
    curl -H 'Authorization: Bearer letmein' -T big.iso http://127.0.0.1:8080/upload
"""

import asyncio
import hashlib
import time

from plugserve.resource import Resource
from plugserve.testing import RawClient, eventually

MAX_UPLOAD = 10 * 1024**3


class Upload(Resource):
    """POST or PUT /upload: the body is hashed while it arrives. The server holds at most
    `--stream-window` of it (64 KiB) and stops reading the socket while this is behind."""

    isLeaf = True
    stream_request_body = True

    async def render_POST(self, request):
        # Answered before the first read: a client that sent `Expect: 100-continue` gets
        # no 100, and does not send the body it would have wasted.
        if request.getHeader(b"authorization") != b"Bearer letmein":
            request.setResponseCode(401)
            return b"who are you?\n"
        length = request.getHeader(b"content-length")
        if length is not None and int(length) > MAX_UPLOAD:
            request.setResponseCode(413)
            return b"too big\n"
        digest = hashlib.sha256()
        size = 0
        async for chunk in request.content:  # the first read sends the 100 Continue
            digest.update(chunk)
            size += len(chunk)
        request.setHeader(b"content-type", b"text/plain")
        return b"%d bytes, sha256 %s\n" % (size, digest.hexdigest().encode())

    render_PUT = render_POST


class Report(Resource):
    """GET /report: a job in a subprocess. If the client leaves first, this coroutine is
    cancelled at its await, and `finally` kills the child."""

    isLeaf = True

    async def render_GET(self, request):
        seconds = float(request.args.get(b"seconds", [b"0.1"])[0])
        proc = await asyncio.create_subprocess_exec("sleep", str(seconds))
        try:
            await proc.wait()
        finally:
            if proc.returncode is None:  # cancelled: the client went away
                proc.kill()
                await proc.wait()
        request.setHeader(b"content-type", b"text/plain")
        return b"ready after %g s\n" % seconds


class Index(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain")
        return b"POST /upload (Authorization: Bearer letmein), GET /report?seconds=N\n"


root = Resource()
root.putChild(b"", Index())
root.putChild(b"upload", Upload())
root.putChild(b"report", Report())


# -- tests ------------------------------------------------------------------------------------

EXPECT = b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"


def test_an_upload_is_hashed_as_it_arrives(plugserve_server):
    server = plugserve_server(root)
    body = b"x" * 1_000_000
    response = server.request("PUT", "/upload", body=body,
                              headers={"Authorization": "Bearer letmein"})
    digest = hashlib.sha256(body).hexdigest().encode()
    assert response.body == b"1000000 bytes, sha256 %s\n" % digest


def test_401_comes_before_any_100_continue(plugserve_server):
    server = plugserve_server(root)
    with RawClient.to(server) as client:
        client.send(EXPECT + b"\r\n")
        assert client.response(b"POST").status == 401  # no 100 before it


def test_100_continue_comes_when_the_resource_reads(plugserve_server):
    server = plugserve_server(root)
    with RawClient.to(server) as client:
        client.send(EXPECT + b"Authorization: Bearer letmein\r\n\r\n")
        assert client.response(b"POST").status == 100
        client.send(b"hello")
        response = client.response(b"POST")
    assert response.body.startswith(b"5 bytes, sha256 2cf24dba")


def test_a_client_that_leaves_stops_the_report(plugserve_server, monkeypatch):
    server = plugserve_server(root)
    assert server.get("/report").body == b"ready after 0.1 s\n"
    events = []
    original = Report.render_GET

    async def spy(self, request):
        events.append("started")
        try:
            return await original(self, request)
        finally:
            events.append("ended")  # after the child was killed and reaped

    monkeypatch.setattr(Report, "render_GET", spy)
    started = time.monotonic()
    with RawClient.to(server) as client:
        client.send(b"GET /report?seconds=60 HTTP/1.1\r\nHost: a\r\n\r\n")
        assert eventually(lambda: events == ["started"])
    assert eventually(lambda: events == ["started", "ended"])
    assert time.monotonic() - started < 30  # not the 60 s the job would have taken
