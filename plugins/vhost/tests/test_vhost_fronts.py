"""plugserve-vhost behind the front servers people use: a real nginx and a real Apache httpd
proxying to the real `plugserve --path` command.

Two set-ups, each through both fronts.  VHostMonster: the front proxies `/` to
`/vhost.rpy/http/example.com:80/` (Apache's `ProxyPass` exactly as the Twisted guide writes
it), and every URL the site makes (prePathURL, URLPath, the directory-slash redirect, listing
links, a script's redirect) must name the front, never the backend's 127.0.0.1:PORT or the
vhost.rpy path.  `--trust-forwarded`: the front proxies plainly and adds X-Forwarded-*; from a
trusted peer the request shows the real client (its IP, scheme and host, in the access log
too), from an untrusted one nothing of that is believed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import front_servers
import pytest
import requests
from front_servers import Backend, Front

# The fixtures: pytest finds them among this module's names.  Bound, not imported, so that the
# test parameters of the same names do not read as redefinitions (ruff F811).
apache = front_servers.apache
backend = front_servers.backend
nginx = front_servers.nginx

Factory = Callable[[str], Front]
BackendFactory = Callable[..., Backend]

CLIENT = "203.0.113.7"  # what the client's own X-Forwarded-For names (TEST-NET-3)
INDEX = b"<h1>the front page</h1>\n"

VHOST_RPY = "from plugserve_vhost import vhost\nresource = vhost.VHostMonsterResource()\n"
WHERE_RPY = '''\
import json
from plugserve.resource import Resource

class Where(Resource):
    """Where the request believes it is, as JSON."""
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({
            "prePathURL": request.prePathURL().decode(),
            "URLPath": str(request.URLPath()),
            "isSecure": request.isSecure(),
            "clientIP": request.getClientIP(),
        }).encode()

resource = Where()
'''
REDIR_RPY = '''\
from plugserve.resource import Resource
from plugserve.util import redirectTo

class Redir(Resource):
    """A redirect to the sibling index.html, built from URLPath as Twisted code does."""
    isLeaf = True

    def render_GET(self, request):
        return redirectTo(str(request.URLPath().sibling(b"index.html")).encode(), request)

resource = Redir()
'''


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The backend's folder: vhost.rpy, an index.html, sub/ with a file, where.rpy and
    redir.rpy."""
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    (root / "vhost.rpy").write_text(VHOST_RPY)
    (root / "index.html").write_bytes(INDEX)
    (root / "sub" / "file.txt").write_text("in sub\n")
    (root / "where.rpy").write_text(WHERE_RPY)
    (root / "redir.rpy").write_text(REDIR_RPY)
    return root


def _get(front: Front, path: str, headers: dict[str, str] | None = None) -> requests.Response:
    """GET `path` from the front as a browser of example.com would (redirects not followed)."""
    return requests.get(front.url + path, headers={"Host": "example.com", **(headers or {})},
                        allow_redirects=False, timeout=10)


def _where(front: Front, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = _get(front, "/where.rpy", headers)
    assert response.status_code == 200, (response.status_code, response.text, front.log())
    seen: dict[str, Any] = json.loads(response.content)
    return seen


def _assert_front_url(url: str, base: str, expected: str, backend: Backend) -> None:
    """`url` (a Location or a link, absolute or relative) resolved against the front URL
    `base` is `expected`: it never names the backend or the vhost.rpy path."""
    assert "vhost.rpy" not in url and str(backend.port) not in url, url
    assert urljoin(base, url) == expected, (url, base)


def _check_monster(front: Front, backend: Backend, origin: str) -> None:
    """Everything the site says through `front` names `origin` (http://example.com)."""
    page = _get(front, "/")
    assert (page.status_code, page.content) == (200, INDEX), front.log()
    assert _get(front, "/index.html").content == INDEX

    where = _where(front)
    assert where["prePathURL"] == where["URLPath"] == f"{origin}/where.rpy"
    assert where["isSecure"] is origin.startswith("https:")

    # docs/static.md: a folder without its slash is a 302 to the slash form.
    moved = _get(front, "/sub")
    assert moved.status_code == 302, (moved.status_code, moved.headers)
    _assert_front_url(moved.headers["location"], f"{origin}/sub", f"{origin}/sub/", backend)
    assert "vhost.rpy" not in moved.text

    listing = _get(front, "/sub/")
    assert listing.status_code == 200 and "file.txt" in listing.text
    assert "vhost.rpy" not in listing.text
    links = re.findall(r'href="([^"]*)"', listing.text)
    assert links, listing.text
    for link in links:
        assert "vhost.rpy" not in link and str(backend.port) not in link, link
        assert urljoin(f"{origin}/sub/", link).startswith(f"{origin}/"), link
    assert _get(front, "/sub/file.txt").text == "in sub\n"

    redirected = _get(front, "/redir.rpy")
    assert redirected.status_code == 302
    assert redirected.headers["location"] == f"{origin}/index.html"


# -- VHostMonster ------------------------------------------------------------------------------


def test_nginx_in_front_of_vhost_monster(site: Path, backend: BackendFactory,
                                         nginx: Factory) -> None:
    server = backend(site)
    front = nginx(
        "location / {\n"
        f"    proxy_pass http://127.0.0.1:{server.port}/vhost.rpy/http/example.com:80/;\n"
        "    proxy_set_header Host $host;\n"
        "}")
    _check_monster(front, server, "http://example.com")
    # VHostMonster changes the host, not the client: the access log names nginx, and the
    # path as the front's client asked for it.
    lines = server.access_lines(1)
    assert lines[0].startswith("127.0.0.1 ") and '"GET / HTTP/1.' in lines[0], lines


def test_nginx_vhost_monster_https_defaults_to_port_443(site: Path, backend: BackendFactory,
                                                        nginx: Factory) -> None:
    server = backend(site)
    front = nginx(
        "location / {\n"
        f"    proxy_pass http://127.0.0.1:{server.port}/vhost.rpy/https/example.com/;\n"
        "    proxy_set_header Host $host;\n"
        "}")
    _check_monster(front, server, "https://example.com")


def test_apache_in_front_of_vhost_monster_the_guide_recipe(site: Path, backend: BackendFactory,
                                                           apache: Factory) -> None:
    server = backend(site)
    front = apache(
        f"ProxyPass / http://127.0.0.1:{server.port}/vhost.rpy/http/example.com:80/\n"
        "ServerName example.com")
    _check_monster(front, server, "http://example.com")


# -- --trust-forwarded -------------------------------------------------------------------------


def _forwarding_nginx(nginx: Factory, port: int) -> Front:
    """nginx saying the client came over https to example.com, and from where."""
    return nginx(
        "location / {\n"
        f"    proxy_pass http://127.0.0.1:{port};\n"
        "    proxy_set_header Host example.com;\n"
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "    proxy_set_header X-Forwarded-Proto https;\n"
        "    proxy_set_header X-Forwarded-Host example.com;\n"
        "}")


def test_nginx_forwarded_headers_from_a_trusted_peer(site: Path, backend: BackendFactory,
                                                     nginx: Factory) -> None:
    server = backend(site, "--trust-forwarded", "127.0.0.1/32")
    front = _forwarding_nginx(nginx, server.port)
    # nginx appends its own peer (the test, on 127.0.0.1: trusted), so the client is CLIENT.
    where = _where(front, {"X-Forwarded-For": CLIENT})
    assert where == {"prePathURL": "https://example.com/where.rpy",
                     "URLPath": "https://example.com/where.rpy",
                     "isSecure": True, "clientIP": CLIENT}
    # The rightmost untrusted address is the client: what precedes it is anyone's claim.
    assert _where(front, {"X-Forwarded-For": f"198.51.100.1, {CLIENT}"})["clientIP"] == CLIENT
    redirected = _get(front, "/redir.rpy")
    assert redirected.headers["location"] == "https://example.com/index.html"
    moved = _get(front, "/sub")
    _assert_front_url(moved.headers["location"], "https://example.com/sub",
                      "https://example.com/sub/", server)
    lines = server.access_lines(2)
    assert lines[0].startswith(f"{CLIENT} ") and '"GET /where.rpy ' in lines[0], lines
    assert lines[1].startswith(f"{CLIENT} "), lines


def test_nginx_forwarded_headers_from_an_untrusted_peer(site: Path, backend: BackendFactory,
                                                        nginx: Factory) -> None:
    server = backend(site)
    front = _forwarding_nginx(nginx, server.port)
    where = _where(front, {"X-Forwarded-For": CLIENT})
    assert where == {"prePathURL": "http://example.com/where.rpy",
                     "URLPath": "http://example.com/where.rpy",
                     "isSecure": False, "clientIP": "127.0.0.1"}
    assert _get(front, "/redir.rpy").headers["location"] == "http://example.com/index.html"
    lines = server.access_lines(1)
    assert lines[0].startswith("127.0.0.1 "), lines


def test_nginx_forwarded_headers_from_a_peer_outside_the_range(
        site: Path, backend: BackendFactory, nginx: Factory) -> None:
    server = backend(site, "--trust-forwarded", "192.0.2.0/24")
    front = _forwarding_nginx(nginx, server.port)
    where = _where(front, {"X-Forwarded-For": CLIENT})
    assert (where["clientIP"], where["isSecure"]) == ("127.0.0.1", False)
    assert where["prePathURL"] == "http://example.com/where.rpy"


def test_apache_forwarded_headers_from_a_trusted_peer(site: Path, backend: BackendFactory,
                                                      apache: Factory) -> None:
    server = backend(site, "--trust-forwarded", "127.0.0.1/32")
    # mod_proxy adds X-Forwarded-For (appending its peer), -Host (the client's Host) and
    # -Server itself, and sends its own Host (127.0.0.1:PORT, no ProxyPreserveHost).
    front = apache(f"ProxyPass / http://127.0.0.1:{server.port}/\nServerName example.com")
    where = _where(front, {"X-Forwarded-For": CLIENT})
    assert where == {"prePathURL": "http://example.com/where.rpy",
                     "URLPath": "http://example.com/where.rpy",
                     "isSecure": False, "clientIP": CLIENT}
    moved = _get(front, "/sub")
    _assert_front_url(moved.headers["location"], "http://example.com/sub",
                      "http://example.com/sub/", server)
    assert _get(front, "/redir.rpy").headers["location"] == "http://example.com/index.html"
    lines = server.access_lines(1)
    assert lines[0].startswith(f"{CLIENT} "), lines


def test_apache_forwarded_headers_from_an_untrusted_peer(site: Path, backend: BackendFactory,
                                                         apache: Factory) -> None:
    server = backend(site)
    front = apache(f"ProxyPass / http://127.0.0.1:{server.port}/\nServerName example.com")
    where = _where(front, {"X-Forwarded-For": CLIENT})
    assert where["clientIP"] == "127.0.0.1"
    # Apache's Host is the backend's own address: nothing says example.com.
    assert where["prePathURL"] == f"http://127.0.0.1:{server.port}/where.rpy"
