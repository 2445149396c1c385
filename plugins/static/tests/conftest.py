"""Fixtures of the static tests: a tree with a secret beside its root, and a server factory that
runs every test twice, with sendfile and with the chunked fallback."""

from __future__ import annotations

import os

import pytest
from static_data import DATA, SECRET


@pytest.fixture
def tree(tmp_path):
    """tmp_path/secret.txt beside tmp_path/www, the served root."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    www = tmp_path / "www"
    www.mkdir()
    (www / "hello.txt").write_bytes(b"hello world\n")
    (www / "data.bin").write_bytes(DATA)
    (www / "unknown.qqzz7").write_bytes(b"??")
    (www / "noext").write_bytes(b"<p>no extension</p>")
    (www / "style.woff2").write_bytes(b"wOF2")
    (www / "app.js").write_bytes(b"1;")
    (www / ".secret").write_bytes(b"dot")
    (www / ".well-known").mkdir()
    (www / ".well-known" / "security.txt").write_bytes(b"Contact: x")
    sub = www / "sub"
    sub.mkdir()
    (sub / "a b&<c>.txt").write_bytes(b"odd name")
    (sub / "zdir").mkdir()
    (sub / '"q".txt').write_bytes(b"q")
    (www / "withindex").mkdir()
    (www / "withindex" / "index.html").write_bytes(b"<h1>index</h1>")
    os.symlink(www / "hello.txt", www / "link_in")
    os.symlink(tmp_path / "secret.txt", www / "link_out")
    os.symlink(tmp_path / "nowhere", www / "broken")
    return www


@pytest.fixture(params=[True, False], ids=["sendfile", "fallback"])
def serve(request, plugserve_server):
    """serve(resource, **config) -> a running TestServer, with sendfile on or off."""

    def start(resource, **settings):
        return plugserve_server(resource, sendfile=request.param, **settings)

    return start
