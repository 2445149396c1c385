"""NameVirtualHost over real sockets: which host resource each Host header (or absolute-form
target) reaches, Twisted's API (`default`, `hosts`, `addHost`, `removeHost`), the 404 for an
unknown name, and how the path reaches leaf and tree host resources."""

from __future__ import annotations

import json
from typing import Any

import pytest
from plugserve_vhost import NameVirtualHost
from plugserve_vhost.vhost import NameVirtualHost as PortedName
from vhost_resources import Tell


def site() -> NameVirtualHost:
    root = NameVirtualHost()
    root.default = Tell("default")
    root.addHost(b"example.com", Tell("example"))
    root.addHost("Str-Key.TEST", Tell("str"))  # Twisted never matches a str key
    root.addHost(b"BYTES-KEY.test", Tell("bytes"))  # ...nor one with upper case
    root.addHost("::1", Tell("v6"))
    root.addHost(b"127.0.0.1", Tell("v4"))
    root.addHost("bücher.example", Tell("idn"))
    root.addHost("www.example.com.", Tell("www"))
    root.hosts["direct.test"] = Tell("direct")  # filling the dict, as some Twisted code does
    return root


def ask(server: Any, target: bytes, host: bytes | None) -> tuple[int, Any]:
    head = b"GET " + target + (b" HTTP/1.1\r\n" if host is not None else b" HTTP/1.0\r\n")
    if host is not None:
        head += b"Host: " + host + b"\r\n"
    reply = server.raw(head + b"Connection: close\r\n\r\n")
    status = int(reply.split(b" ", 2)[1])
    body = reply.partition(b"\r\n\r\n")[2]
    if status != 200:
        return status, body
    if b"\r\n0\r\n" in body or not body.startswith(b"{"):  # chunked
        body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    return status, json.loads(body)["name"]


# (request target, Host header or None for HTTP/1.0 without one, host resource reached)
TABLE = [
    (b"/", b"example.com", "example"),
    (b"/", b"EXAMPLE.COM", "example"),
    (b"/", b"Example.Com:8080", "example"),
    (b"/", b"example.com:0080", "example"),
    (b"/", b"example.com.", "example"),
    (b"/", b"example.com.:80", "example"),
    (b"/", b"example.com..", "default"),
    (b"/", b"sub.example.com", "default"),
    (b"/", b"exampl.com", "default"),
    (b"/", b"str-key.test", "str"),
    (b"/", b"STR-KEY.test:1", "str"),
    (b"/", b"bytes-key.test", "bytes"),
    (b"/", b"[::1]", "v6"),
    (b"/", b"[::1]:8080", "v6"),
    (b"/", b"[0:0:0:0:0:0:0:1]:80", "v6"),
    (b"/", b"127.0.0.1", "v4"),
    (b"/", b"127.0.0.1:9", "v4"),
    (b"/", b"xn--bcher-kva.example", "idn"),
    (b"/", b"XN--BCHER-KVA.example.", "idn"),
    (b"/", b"www.example.com", "www"),
    (b"/", b"direct.test", "direct"),
    (b"/", b"other.test", "default"),
    (b"/", None, "default"),
    (b"http://example.com/", b"other.test", "example"),  # RFC 9112 §3.2.2: the target wins
    (b"http://Example.COM:81/x", b"other.test", "example"),
    (b"http://other.test:8080/x", b"example.com", "default"),
    (b"http://[::1]:81/", b"example.com", "v6"),
    (b"http://127.0.0.1/", b"[::1]", "v4"),
]


@pytest.mark.parametrize(("target", "host", "reached"), TABLE)
def test_host_names(plugserve_server: Any, target: bytes, host: bytes | None,
                    reached: str) -> None:
    server = plugserve_server(site())
    assert ask(server, target, host) == (200, reached)


def test_unknown_host_without_default_is_404_naming_it_escaped(plugserve_server: Any) -> None:
    root = site()
    root.default = None
    server = plugserve_server(root)
    status, body = ask(server, b"/", b"a&b.test")
    assert status == 404
    assert b"host &#x27;a&amp;b.test&#x27; not in vhost map" in body
    assert ask(server, b"/", None)[0] == 404
    assert ask(server, b"/", b"example.com") == (200, "example")  # still serving


def test_api(plugserve_server: Any) -> None:
    root = PortedName()
    assert root.default is None and dict(root.hosts) == {}
    root.addHost("Foo.com", Tell("foo"))
    assert "foo.com" in root.hosts and b"FOO.COM." in root.hosts
    assert list(root.hosts) == [b"foo.com"]
    root.removeHost(b"foo.com")
    with pytest.raises(KeyError):
        root.removeHost("foo.com")
    with pytest.raises(ValueError, match="not a host name"):
        root.addHost("not a host", Tell("x"))


def test_leaf_gets_the_full_path_and_a_tree_its_children(plugserve_server: Any) -> None:
    root = NameVirtualHost()
    root.addHost("leaf.test", Tell("leaf"))
    root.addHost("tree.test", Tell("tree", leaf=False))
    server = plugserve_server(root)
    leaf = json.loads(server.get("/a/b?q=1", headers={"Host": "leaf.test"}).body)
    assert (leaf["postpath"], leaf["prepath"], leaf["uri"]) == (["a", "b"], [], "/a/b?q=1")
    tree = json.loads(server.get("/a/b", headers={"Host": "tree.test"}).body)
    assert (tree["name"], tree["postpath"], tree["prepath"]) == ("tree/a", ["b"], ["a"])
    top = json.loads(server.get("/", headers={"Host": "tree.test"}).body)
    assert top["name"] == "tree/"  # `/` asks the host resource for its b"" child
