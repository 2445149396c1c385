"""A real browser through the forward proxy: headless Chromium, told to use ForwardProxyResource
for every URL (loopback included), loads a page from a plugserve origin with three PNG images
and an inline script that writes each image's naturalWidth into the DOM once the page has
loaded.  The widths in the dumped DOM prove that each image arrived whole and decodable; the
origin's log proves that the page and the images came through the proxy (each has its Via)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
from plugserve.resource import Resource
from plugserve_proxy import ForwardProxyResource

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTHS = {"a": 17, "b": 64, "c": 301}

PAGE = """<!doctype html>
<html><head><title>through the proxy</title></head><body>
<img id="a" src="/img/a.png"><img id="b" src="/img/b.png"><img id="c" src="/img/c.png">
<pre id="out">not loaded</pre>
<script>
window.addEventListener("load", () => {
  document.getElementById("out").textContent = Array.from(document.images)
    .map((img) => img.id + "=" + img.naturalWidth).join(",");
});
</script>
</body></html>
"""


def png(width: int, height: int = 3) -> bytes:
    """A red `width` x `height` PNG, built by hand (so its width is known to the browser only
    if every byte of it arrived)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class Origin(Resource):
    """The page and its images; `seen` holds (path, Via header or None) of each request."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str | None]] = []

    def render(self, request: Any) -> bytes:
        via = request.getHeader(b"via")
        self.seen.append((request.path.decode(), via.decode() if via else None))
        if request.path == b"/":
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            return PAGE.encode()
        name = request.path.removeprefix(b"/img/").removesuffix(b".png").decode()
        if request.path.startswith(b"/img/") and name in WIDTHS:
            request.setHeader(b"content-type", b"image/png")
            return png(WIDTHS[name])
        request.setResponseCode(404)
        return b"not here"


def chromium_dom(url: str, proxy: str, profile: Path) -> str:
    """The DOM of `url` as headless Chromium has it after the load event, fetched through the
    proxy at `proxy`.  `<-loopback>` removes Chromium's implicit bypass of loopback addresses;
    its background traffic is switched off so that the proxy carries only the page's."""
    assert CHROMIUM is not None
    profile.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--proxy-server={proxy}",
         "--proxy-bypass-list=<-loopback>", "--no-first-run", "--no-default-browser-check",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--virtual-time-budget=5000",
         "--dump-dom", url],
        capture_output=True, timeout=50, check=False, env={**os.environ, "HOME": str(profile)})
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    return done.stdout.decode()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_chromium_loads_a_page_and_its_images_through_the_proxy(
        plugserve_server: Any, tmp_path: Path) -> None:
    origin = Origin()
    origin_server = plugserve_server(origin)
    proxy = plugserve_server(ForwardProxyResource())
    dom = chromium_dom(f"{origin_server.url}/", proxy.url, tmp_path / "profile")
    expected = ",".join(f"{name}={width}" for name, width in WIDTHS.items())
    assert f'<pre id="out">{expected}</pre>' in dom, dom
    wanted = ["/", "/img/a.png", "/img/b.png", "/img/c.png"]
    paths = [path for path, _via in origin.seen]
    assert sorted(p for p in paths if p in wanted) == wanted, origin.seen
    assert set(paths) <= {*wanted, "/favicon.ico"}, origin.seen
    for path, via in origin.seen:
        assert via is not None and via.startswith("1.1 plugserve-"), (path, via)
