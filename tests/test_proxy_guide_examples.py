"""The Twisted Web guide's proxy examples (examples/guide/proxy_*.py), ported to plugserve-proxy
with only their imports and run lines changed, served and checked over HTTP.

The forward proxy relays to a local upstream.  The reverse proxy's upstream is www.yahoo.com,
which this machine cannot reach: the test checks the resource the file builds, and that the
site answers a gateway error at once instead of hanging or failing (Twisted answers 501)."""

from __future__ import annotations

import re
import runpy
from typing import Any

import pytest
import requests
from plugserve.resource import Resource
from plugserve_proxy import ReverseProxyResource

from tests.cli_helpers import REPO

GUIDE = REPO / "examples" / "guide"
EXAMPLES = ["proxy_forward", "proxy_reverse"]


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"upstream says hi " + bytes(request.uri)


def test_every_proxy_example_file_is_tested() -> None:
    assert sorted(p.stem for p in GUIDE.glob("proxy_*.py")) == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_says_where_it_comes_from(name: str) -> None:
    source = (GUIDE / f"{name}.py").read_text()
    assert source.splitlines()[0].startswith("# Twisted Web guide, "), name
    assert re.search(r"^\s*(from|import)\s+twisted\b", source, re.M) is None


def test_forward_proxy_example(plugserve_server: Any) -> None:
    module = runpy.run_path(str(GUIDE / "proxy_forward.py"))
    upstream = plugserve_server(Hello())
    proxy = plugserve_server(module["factory"])
    response = requests.get(f"{upstream.url}/page", proxies={"http": proxy.url}, timeout=10)
    assert response.status_code == 200
    assert response.content == b"upstream says hi /page"


def test_reverse_proxy_example(plugserve_server: Any) -> None:
    module = runpy.run_path(str(GUIDE / "proxy_reverse.py"))
    root = module["site"].resource
    assert isinstance(root, ReverseProxyResource)
    assert (root.host, root.port, root.path) == ("www.yahoo.com", 80, b"")
    proxy = plugserve_server(module["site"])
    response = requests.get(proxy.url + "/", timeout=30)
    assert response.status_code in (502, 504) or response.status_code < 500
