"""Real clients through the forward proxy: `curl -x` to an HTTPS origin through a CONNECT
tunnel (a plugserve TLS site with a trustme certificate, verified by curl), and `curl -p`
(CONNECT for plain http too); afterwards, no tunnel is left open on the proxy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from plugserve.resource import Resource
from plugserve.testing import eventually
from plugserve_proxy import ForwardProxyResource, _settings

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


class Page(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        scheme = b"https" if request.isSecure() else b"http"
        return b"secret page over " + scheme


@pytest.fixture
def tls_origin(plugserve_server: Any, tmp_path: Path) -> tuple[Any, Path]:
    """(a plugserve site on TLS with a trustme certificate for 127.0.0.1, the CA's PEM)."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    key_file, cert_file, ca_file = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "ca.pem"
    cert.private_key_pem.write_to_path(str(key_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    ca.cert_pem.write_to_path(str(ca_file))
    origin = plugserve_server(Page(), listen=(
        f"ssl:0:interface=127.0.0.1:privateKey={key_file}:certKey={cert_file}",))
    return origin, ca_file


def _curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["curl", "-sS", "--max-time", "20", *args], capture_output=True,
                          timeout=30, check=False)


def test_curl_https_through_connect(plugserve_server: Any, tls_origin: tuple[Any, Path]) -> None:
    origin, ca_file = tls_origin
    _settings.use(_settings.ProxySettings(connect_ports=frozenset({origin.port})))
    proxy = plugserve_server(ForwardProxyResource())
    done = _curl("--cacert", str(ca_file), "-x", proxy.url, f"https://127.0.0.1:{origin.port}/")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"secret page over https"
    assert eventually(lambda: proxy.call(lambda: len(proxy.server._state.connections)) == 0)


def test_curl_https_to_a_port_not_allowed_is_refused(plugserve_server: Any,
                                                      tls_origin: tuple[Any, Path]) -> None:
    origin, ca_file = tls_origin
    proxy = plugserve_server(ForwardProxyResource())
    done = _curl("--cacert", str(ca_file), "-x", proxy.url, f"https://127.0.0.1:{origin.port}/")
    assert done.returncode != 0
    assert b"403" in done.stderr


def test_curl_proxytunnel_for_plain_http(plugserve_server: Any) -> None:
    origin = plugserve_server(Page())
    _settings.use(_settings.ProxySettings(connect_ports=frozenset({origin.port})))
    proxy = plugserve_server(ForwardProxyResource())
    done = _curl("-p", "-x", proxy.url, f"http://127.0.0.1:{origin.port}/")
    assert done.stdout == b"secret page over http", done.stderr
