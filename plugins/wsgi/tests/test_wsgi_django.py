"""A minimal Django project (tests/apps/wsgi_django_site: settings in a module, no database)
over real sockets: views, a csrf_exempt POST (form and multipart), CSRF protection, a streamed
response, cookies, and the project mounted under /app."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from wsgi_support import Client, fetch

pytest.importorskip("django")

BOUNDARY = "django-test-boundary"


@pytest.fixture(scope="module")
def django_app():
    from wsgi_django_site.wsgi import application

    return application


def test_views(serve, django_app):
    server = serve(django_app)
    reply = fetch(server, "GET", "/")
    assert (reply.status, reply.body) == (200, b"Hello from Django")
    assert reply.header(b"content-type") == b"text/plain"
    assert fetch(server, "GET", "/nowhere/").status == 404
    # CommonMiddleware's APPEND_SLASH redirect, built from the environ.
    redirect = fetch(server, "GET", "/where")
    assert redirect.status == 301
    assert redirect.header(b"location") == b"/where/"


def test_csrf_exempt_post(serve, django_app):
    server = serve(django_app)
    reply = fetch(server, "POST", "/echo/?q=1", b"name=Grace+Hopper&lang=COBOL&lang=FLOW-MATIC",
                  [("Content-Type", "application/x-www-form-urlencoded")])
    assert reply.status == 200
    assert reply.json() == {"post": {"name": ["Grace Hopper"], "lang": ["COBOL", "FLOW-MATIC"]},
                            "files": {}, "get": "1"}


def test_multipart_post(serve, django_app):
    data = bytes(range(256)) * 4096  # 1 MiB file
    body = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nreport\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"doc\"; "
            f"filename=\"r.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    body += data + f"\r\n--{BOUNDARY}--\r\n".encode()
    reply = fetch(serve(django_app), "POST", "/echo/", body,
                  [("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")])
    assert reply.json() == {"post": {"title": ["report"]},
                            "files": {"doc": hashlib.sha256(data).hexdigest()}, "get": None}


def test_csrf_protection_still_works(serve, django_app):
    reply = fetch(serve(django_app), "POST", "/protected/", b"x=1",
                  [("Content-Type", "application/x-www-form-urlencoded")])
    assert reply.status == 403


def test_streaming_response(serve, django_app):
    reply = fetch(serve(django_app), "GET", "/stream/")
    assert (reply.status, reply.chunked) == (200, True)
    assert reply.body == b"part 0\npart 1\npart 2\npart 3\n"


def test_cookies(serve, django_app):
    with Client(serve(django_app)) as client:
        first = client.request("GET", "/cookie/")
        assert first.body == b"first visit"
        cookie = first.header(b"set-cookie")
        assert cookie is not None and cookie.startswith(b"seen=yes")
        second = client.request("GET", "/cookie/", headers=[("Cookie", "seen=yes")])
        assert second.body == b"yes"


def test_mounted_under_app(serve, django_app):
    server = serve(django_app, mount="app")
    where = fetch(server, "GET", "/app/where/?x=1").json()
    assert where == {"path": "/app/where/", "path_info": "/where/", "script_name": "/app",
                     "absolute": "http://test.example:8123/app/where/?x=1",
                     "host": "test.example:8123", "secure": False}
    redirect = fetch(server, "GET", "/app/where")
    assert redirect.header(b"location") == b"/app/where/"


def test_file_response(serve, django_app):
    from wsgi_django_site import views

    expected = Path(views.__file__).read_bytes()
    reply = fetch(serve(django_app), "GET", "/file/")
    assert (reply.status, reply.body) == (200, expected)
    assert reply.header(b"content-length") == str(len(expected)).encode()
