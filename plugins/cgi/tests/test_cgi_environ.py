"""The environment and argv a script gets (RFC 3875 §4), each attack sent over HTTP to a real
Python script that reports what reached it (cgi_scripts.DUMP).

Twisted's bugs that these pin down (shared/reference/twisted-web.md §6.1): `/script/extra` is a
500 there, a repeated header keeps only its last value, `X_Dup` overwrites `X-Dup`, the whole
server environment reaches every script, SERVER_NAME breaks on IPv6, and `%3d` in a query
slips past its `=` check into argv (so into php-cgi's options: CVE-2012-1823)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import pytest
from cgi_scripts import DUMP, Scripts, use
from plugserve.resource import Resource
from plugserve.testing import RawClient
from plugserve_cgi import FilteredScript


def dump(server: Any, path: str = "/cgi-bin/dump", method: str = "GET",
         headers: dict[str, str] | None = None, body: bytes | None = None) -> Any:
    response = server.request(method, path, headers, body)
    assert response.status == 200, (response.status, response.body)
    return json.loads(response.body)


def raw_dump(server: Any, head: bytes) -> Any:
    with RawClient.to(server) as client:
        client.send(head)
        response = client.response()
    assert response.status == 200, (response.status, response.body)
    return json.loads(response.body)


@pytest.fixture
def server(scripts: Scripts, cgi_bin: Callable[..., Any]) -> Any:
    scripts.add("dump", DUMP)
    return cgi_bin()


def test_the_rfc_3875_variables(server: Any, scripts: Scripts) -> None:
    seen = dump(server, "/cgi-bin/dump?x=1&y=%20", headers={"Host": "example.org:8080"})
    env = seen["env"]
    script = str(scripts.path / "dump")
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["SERVER_SOFTWARE"].startswith("plugserve/")
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("example.org", "8080")
    assert env["REQUEST_METHOD"] == "GET"
    assert env["REQUEST_URI"] == "/cgi-bin/dump?x=1&y=%20"
    assert env["QUERY_STRING"] == "x=1&y=%20"
    assert env["SCRIPT_NAME"] == "/cgi-bin/dump"
    assert env["SCRIPT_FILENAME"] == script
    assert env["DOCUMENT_ROOT"] == str(scripts.path)  # no --path: the script's folder
    assert (env["REQUEST_SCHEME"], "HTTPS" in env) == ("http", False)
    assert env["REMOTE_ADDR"] == "127.0.0.1" and int(env["REMOTE_PORT"]) > 0
    assert "PATH_INFO" not in env and "PATH_TRANSLATED" not in env
    assert "CONTENT_LENGTH" not in env and "CONTENT_TYPE" not in env
    assert seen["cwd"] == str(scripts.path)
    assert seen["argv"] == []


def test_path_info_and_path_translated(server: Any, scripts: Scripts) -> None:
    """In Twisted any /script/extra is a 500."""
    use(document_root="/srv/www")
    env = dump(server, "/cgi-bin/dump/a%20b/c/")["env"]
    assert env["SCRIPT_NAME"] == "/cgi-bin/dump"
    assert env["PATH_INFO"] == "/a b/c/"
    assert env["PATH_TRANSLATED"] == "/srv/www/a b/c/"
    assert env["DOCUMENT_ROOT"] == "/srv/www"


@pytest.mark.parametrize(("host", "name", "port"), [
    ("[::1]:8443", "[::1]", "8443"), ("[2001:db8::7]", "[2001:db8::7]", "80"),
    ("Example.ORG", "Example.ORG", "80"),
])
def test_server_name_and_port_come_from_host(server: Any, host: str, name: str,
                                             port: str) -> None:
    env = dump(server, headers={"Host": host})["env"]
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == (name, port)


def test_without_host_the_local_address_is_the_server(server: Any) -> None:
    env = raw_dump(server, b"GET /cgi-bin/dump HTTP/1.0\r\n\r\n")["env"]
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("127.0.0.1", str(server.port))
    assert env["SERVER_PROTOCOL"] == "HTTP/1.0"


def test_repeated_headers_are_joined_and_cookies_with_semicolons(server: Any) -> None:
    env = raw_dump(server, b"GET /cgi-bin/dump HTTP/1.1\r\nHost: a\r\nX-Many: 1\r\n"
                           b"X-Many: 2\r\nCookie: a=1\r\nCookie: b=2\r\nAccept: x/y\r\n\r\n")["env"]
    assert env["HTTP_X_MANY"] == "1, 2"
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert env["HTTP_ACCEPT"] == "x/y"


def test_a_header_name_with_an_underscore_is_dropped(server: Any) -> None:
    """In Twisted `X_Forwarded_For: evil` overwrites X-Forwarded-For."""
    env = raw_dump(server, b"GET /cgi-bin/dump HTTP/1.1\r\nHost: a\r\n"
                           b"X-Forwarded-For: 10.0.0.1\r\nX_Forwarded_For: 6.6.6.6\r\n\r\n")["env"]
    assert env["HTTP_X_FORWARDED_FOR"] == "10.0.0.1"
    assert not any("6.6.6.6" in value for value in env.values())


def test_a_proxy_header_never_becomes_http_proxy(server: Any) -> None:
    """httpoxy: a script's HTTP client would take HTTP_PROXY as its proxy."""
    env = dump(server, headers={"Proxy": "http://evil.example:3128"})["env"]
    assert "HTTP_PROXY" not in env and "PROXY" not in env
    assert not any("evil.example" in value for value in env.values())


def test_none_of_the_server_environment_reaches_the_script(
        server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGSERVE_TEST_SECRET", "hunter2")
    env = dump(server)["env"]
    assert "PLUGSERVE_TEST_SECRET" not in env and "HOME" not in env
    allowed = {"PATH", "GATEWAY_INTERFACE", "SERVER_SOFTWARE", "SERVER_PROTOCOL", "SERVER_NAME",
               "SERVER_PORT", "REQUEST_METHOD", "REQUEST_URI", "REQUEST_SCHEME", "SCRIPT_NAME",
               "SCRIPT_FILENAME", "DOCUMENT_ROOT", "QUERY_STRING", "REMOTE_ADDR", "REMOTE_PORT"}
    assert {k for k in env if not k.startswith("HTTP_")} == allowed


def test_cgi_env_passes_what_it_names(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUGSERVE_TEST_TZ", "Europe/Paris")
    use(environ=(("PATH", os.environ["PATH"]), ("PLUGSERVE_TEST_TZ", "Europe/Paris"),
                 ("APP_ENV", "production")))
    env = dump(server)["env"]
    assert (env["PLUGSERVE_TEST_TZ"], env["APP_ENV"]) == ("Europe/Paris", "production")


@pytest.mark.parametrize(("query", "argv"), [
    ("foo+bar%20baz", ["foo", "bar baz"]),   # ISINDEX: no "=" at all
    ("-d+allow_url_include%3d1", []),        # "=" once decoded: no argv (Twisted's bypass)
    ("a=1", []),
    ("", []),
])
def test_a_cgi_script_gets_argv_only_from_an_isindex_query(server: Any, query: str,
                                                           argv: list[str]) -> None:
    seen = dump(server, "/cgi-bin/dump?" + query if query else "/cgi-bin/dump")
    assert seen["argv"] == argv
    assert seen["env"]["QUERY_STRING"] == query


class Python(FilteredScript):
    filter = sys.executable


@pytest.mark.parametrize("query", ["-d+allow_url_include%3d1", "-s", "-c+print(1)",
                                   "foo+bar"])
def test_a_filtered_script_never_gets_the_query_as_argv(
        plugserve_server: Any, scripts: Scripts, query: str) -> None:
    """The query would be the interpreter's options (php-cgi -d ...: CVE-2012-1823)."""
    script = scripts.add("dump.py", DUMP.split("\n", 1)[1], executable=False)
    root = Resource()
    root.putChild(b"dump.py", Python(str(script)))
    seen = dump(plugserve_server(root), "/dump.py?" + query)
    assert seen["argv"] == []
    assert seen["env"]["QUERY_STRING"] == query


@pytest.mark.parametrize("target", [b"/cgi-bin/dump/a%00b", b"/cgi-bin/dump?a%00b"])
def test_a_nul_byte_is_refused_with_400(server: Any, target: bytes) -> None:
    with RawClient.to(server) as client:
        client.send(b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        assert client.response().status == 400


def test_the_body_arrives_with_its_length_and_type(server: Any) -> None:
    seen = dump(server, method="POST", body=b"a=1&b=2",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert seen["body"] == "a=1&b=2"
    assert seen["env"]["CONTENT_LENGTH"] == "7"
    assert seen["env"]["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert "HTTP_CONTENT_LENGTH" not in seen["env"] and "HTTP_CONTENT_TYPE" not in seen["env"]
