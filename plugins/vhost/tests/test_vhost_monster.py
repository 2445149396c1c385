"""VHostMonsterResource over real sockets, in a real File tree: the request looks as if it
had reached the front server named in the path, and every URL the site makes says so
(prePathURL, URLPath, redirects, the directory-slash redirect, listing links), whether the
monster is at the root or deeper; a bad scheme word, host or port is a 400."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from plugserve import util
from plugserve.resource import Resource
from plugserve_static import File
from plugserve_vhost import VHostMonsterResource
from vhost_resources import Tell


class Back(Resource):
    """Redirects to its sibling `where`, through URLPath as Twisted code does."""

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return util.redirectTo(str(request.URLPath().sibling(b"where")).encode(), request)


@pytest.fixture
def server(plugserve_server: Any, tmp_path: Path) -> Any:
    (tmp_path / "index.html").write_text("front page\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "file.txt").write_text("in dir\n")
    root = File(str(tmp_path))
    root.putChild(b"vhost.rpy", VHostMonsterResource())
    root.putChild(b"where", Tell("where"))
    root.putChild(b"back", Back())
    deep = Resource()
    deep.putChild(b"vhost", VHostMonsterResource())
    root.putChild(b"deep", deep)
    return plugserve_server(root)


def seen(server: Any, path: str) -> dict[str, Any]:
    response = server.get(path)
    assert response.status == 200, (path, response.status, response.body)
    return json.loads(response.body)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("path", "url", "host", "secure"), [
    ("/vhost.rpy/http/example.com:80/where", "http://example.com/where", "example.com", False),
    ("/vhost.rpy/http/example.com/where", "http://example.com/where", "example.com", False),
    ("/vhost.rpy/https/example.com/where", "https://example.com/where", "example.com", True),
    ("/vhost.rpy/https/example.com:443/where", "https://example.com/where", "example.com",
     True),
    ("/vhost.rpy/http/example.com:8080/where", "http://example.com:8080/where",
     "example.com:8080", False),
    ("/vhost.rpy/https/[::1]:8443/where", "https://[::1]:8443/where", "[::1]:8443", True),
    ("/deep/vhost/http/example.com/where", "http://example.com/where", "example.com", False),
    ("/deep/vhost/http/example.com/deep/vhost/https/inner.test/where",
     "https://inner.test/where", "inner.test", True),
])
def test_the_request_looks_as_the_front_saw_it(server: Any, path: str, url: str, host: str,
                                               secure: bool) -> None:
    got = seen(server, path)
    assert (got["url"], got["urlpath"], got["host"], got["secure"]) == (url, url, host, secure)
    assert (got["prepath"], got["uri"], got["path"]) == (["where"], "/where", "/where")


def test_query_and_encoded_segments_are_kept(server: Any) -> None:
    got = seen(server, "/deep/vhost/https/example.com/where/a%2Fb/c?q=1&r=%2F")
    assert got["uri"] == "/where/a%2Fb/c?q=1&r=%2F"
    assert got["postpath"] == ["a/b", "c"]
    assert got["url"] == "https://example.com/where"


def test_redirects_name_the_front(server: Any) -> None:
    back = server.get("/vhost.rpy/https/example.com/back")
    assert back.status == 302 and back.header("location") == "https://example.com/where"
    front = "http://example.com/dir"
    slash = server.get("/vhost.rpy/http/example.com/dir")
    assert slash.status in (301, 302)
    assert urljoin(front, slash.header("location") or "") == "http://example.com/dir/"
    deep = server.get("/deep/vhost/http/example.com/dir?x=1")
    assert urljoin(front, deep.header("location") or "") == "http://example.com/dir/?x=1"


def test_listing_and_files_are_the_site_root(server: Any) -> None:
    listing = server.get("/vhost.rpy/http/example.com/dir/")
    assert listing.status == 200
    assert b'href="file.txt"' in listing.body and b"vhost" not in listing.body
    assert server.get("/vhost.rpy/http/example.com/dir/file.txt").body == b"in dir\n"
    assert server.get("/vhost.rpy/http/example.com").body == b"front page\n"
    assert server.get("/vhost.rpy/http/example.com/").body == b"front page\n"


@pytest.mark.parametrize("path", [
    "/vhost.rpy/ftp/example.com/where",  # Twisted consumes the word silently
    "/vhost.rpy/HTTP/example.com/where",
    "/vhost.rpy/",
    "/vhost.rpy/http/example.com:abc/where",  # Twisted: 500
    "/vhost.rpy/http/example.com:0/where",
    "/vhost.rpy/http/example.com:65536/where",
    "/vhost.rpy/http/example.com:/where",
    "/vhost.rpy/http/a%20b/where",
    "/vhost.rpy/http/%5B%3A%3A1/where",
    "/vhost.rpy/http/a:1:2/where",
    "/vhost.rpy/http//where",
])
def test_bad_scheme_host_or_port_is_400(server: Any, path: str, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="plugserve.vhost")
    response = server.get(path)
    assert response.status == 400, response.body
    assert b"Bad Request" in response.body
    assert "bad VHostMonster path" in caplog.text
    assert server.get("/vhost.rpy/http/example.com/where").status == 200
