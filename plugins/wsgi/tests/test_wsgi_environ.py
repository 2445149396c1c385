"""The PEP 3333 environ, checked over real sockets with an application that echoes it."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from wsgiref.validate import validator

import pytest
from plugserve.resource import Resource
from plugserve_wsgi import WSGIResource
from wsgi_support import Client, environ_app, fetch, raw, read_reply

# (mount, request target, SCRIPT_NAME, PATH_INFO, QUERY_STRING): Twisted's observed values,
# which are PEP 3333's (decoded segments, latin-1).
PATHS = [
    (None, "/", "", "/", ""),
    (None, "/a/b", "", "/a/b", ""),
    (None, "/a/b/", "", "/a/b/", ""),
    (None, "/x?q=1&r=%20", "", "/x", "q=1&r=%20"),
    ("app", "/app", "/app", "", ""),
    ("app", "/app/", "/app", "/", ""),
    ("app", "/app/a%20b/c%2Fd", "/app", "/a b/c/d", ""),
    ("app", "/app/%C3%A9t%C3%A9?x=%C3%A9", "/app", "/\u00c3\u00a9t\u00c3\u00a9", "x=%C3%A9"),
    ("app", "/app/x?", "/app", "/x", ""),
    ("app", "/app//double", "/app", "//double", ""),
    ("", "/", "", "/", ""),  # putChild(b"", ...): SCRIPT_NAME is never "/"
    ("", "/?q", "", "/", "q"),
]


@pytest.mark.parametrize(("mount", "target", "script", "path", "query"), PATHS)
def test_script_name_path_info_query(serve, mount, target, script, path, query):
    server = serve(environ_app, mount=mount)
    env = fetch(server, "GET", target).json()
    assert (env["SCRIPT_NAME"], env["PATH_INFO"], env["QUERY_STRING"]) == (script, path, query)
    assert env["REQUEST_URI"] == target
    # PEP 3333: the original bytes come back with latin-1.
    if "%C3" in target:
        assert env["PATH_INFO"].encode("latin-1").decode("utf-8") == "/\u00e9t\u00e9"


def test_mounted_deeper(plugserve_server, pool):
    root, api = Resource(), Resource()
    root.putChild(b"api", api)
    api.putChild(b"v1", WSGIResource(None, pool, validator(environ_app)))
    server = plugserve_server(root)
    env = fetch(server, "GET", "/api/v1/users/7").json()
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/api/v1", "/users/7")
    assert fetch(server, "GET", "/api/other").status == 404


def test_required_keys(serve):
    server = serve(environ_app)
    env = fetch(server, "GET", "/").json()
    assert env["REQUEST_METHOD"] == "GET"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["SERVER_NAME"] == "test.example"  # from Host, without its port
    assert env["SERVER_PORT"] == str(server.port)  # the socket's port, as Twisted
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["REMOTE_PORT"].isdigit()
    assert env["SERVER_SOFTWARE"].startswith("plugserve/")
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.version"] == [1, 0]
    assert env["wsgi.multithread"] is True
    assert env["wsgi.multiprocess"] is False
    assert env["wsgi.run_once"] is False
    assert env["wsgi.input_terminated"] is True
    assert env["has_file_wrapper"] is True
    assert (env["CONTENT_TYPE"], env["CONTENT_LENGTH"]) == ("", "")


def test_multiprocess_with_workers(serve):
    from plugserve import Config

    if not hasattr(Config, "workers"):
        pytest.skip("this plugserve has no --workers")
    # The test server does not fork; the setting alone is what the environ reports.
    env = fetch(serve(environ_app, workers=3), "GET", "/").json()
    assert env["wsgi.multiprocess"] is True


def test_http_headers(serve):
    server = serve(environ_app)
    env = raw(server, b"GET / HTTP/1.1\r\nHost: h\r\nX-Thing: a\r\nx-thing: b\r\n"
                      b"Accept: text/html\r\nCookie: a=1\r\nCookie: b=2\r\n"
                      b"X_Forwarded_For: 6.6.6.6\r\nX-Forwarded-For: 1.2.3.4\r\n"
                      b"Content-Type: text/x-mine\r\nUser-Agent: t/1\r\n\r\n").json()
    assert env["HTTP_X_THING"] == "a,b"  # repeats joined with ","
    assert env["HTTP_ACCEPT"] == "text/html"
    assert env["HTTP_USER_AGENT"] == "t/1"
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    # The underscore spelling is dropped: it cannot pose as (or add to) X-Forwarded-For.
    assert env["HTTP_X_FORWARDED_FOR"] == "1.2.3.4"
    # PEP 3333: only CONTENT_TYPE / CONTENT_LENGTH, never HTTP_CONTENT_* (the validator checks).
    assert env["CONTENT_TYPE"] == "text/x-mine"
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env
    assert env["HTTP_HOST"] == "h"
    assert env["SERVER_NAME"] == "h"


def test_only_underscore_header_is_dropped(serve):
    server = serve(environ_app)
    env = raw(server, b"GET / HTTP/1.1\r\nHost: h\r\nX_Forwarded_For: 6.6.6.6\r\n\r\n").json()
    assert "HTTP_X_FORWARDED_FOR" not in env


def test_header_values_are_latin1(serve):
    server = serve(environ_app)
    env = raw(server, b"GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9\r\n\r\n").json()
    assert env["HTTP_X_NAME"].encode("latin-1") == b"caf\xc3\xa9"


def test_content_length_and_body(serve):
    server = serve(environ_app)
    env = fetch(server, "POST", "/", b"a=1&b=2",
                [("Content-Type", "application/x-www-form-urlencoded")]).json()
    assert (env["CONTENT_LENGTH"], env["body"]) == ("7", "a=1&b=2")
    assert env["CONTENT_TYPE"] == "application/x-www-form-urlencoded"


def test_chunked_body_has_no_content_length(serve):
    server = serve(environ_app)
    env = raw(server, b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"3\r\nabc\r\n0\r\n\r\n").json()
    assert env["CONTENT_LENGTH"] == ""
    assert env["REQUEST_METHOD"] == "PUT"


def test_host_with_ipv6_literal(serve):
    server = serve(environ_app)
    env = raw(server, b"GET / HTTP/1.1\r\nHost: [::1]:99\r\n\r\n").json()
    assert env["SERVER_NAME"] == "::1"
    assert env["HTTP_HOST"] == "[::1]:99"


def test_http10_without_host(serve):
    server = serve(environ_app)
    with Client(server) as client:
        client.send(b"GET /x HTTP/1.0\r\n\r\n")
        env = client.response().json()
    assert env["SERVER_PROTOCOL"] == "HTTP/1.0"
    assert env["SERVER_NAME"] == "127.0.0.1"  # the socket's address, without a Host


def test_https_scheme(serve, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    key_file, cert_file = tmp_path / "key.pem", tmp_path / "cert.pem"
    cert.private_key_pem.write_to_path(str(key_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    server = serve(environ_app, listen=(
        f"ssl:0:interface=127.0.0.1:privateKey={key_file}:certKey={cert_file}",))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as plain, \
            context.wrap_socket(plain, server_hostname="localhost") as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        with sock.makefile("rb") as stream:
            env = read_reply(stream).json()
    assert env["wsgi.url_scheme"] == "https"
    assert env["SERVER_PORT"] == str(server.port)


def test_unix_socket(serve, tmp_path: Path):
    path = tmp_path / "s.sock"
    serve(environ_app, listen=(f"unix:{path}",))
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(b"GET /u HTTP/1.1\r\nHost: site.example:8080\r\nConnection: close\r\n\r\n")
        with sock.makefile("rb") as stream:
            env = read_reply(stream).json()
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("site.example", "8080")
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == ("", "")
    assert env["PATH_INFO"] == "/u"
