"""Take the screenshots of a plugserve-static directory listing used in docs/static.md.

Run by hand (not by CI), from the repository root, after changing the listing's HTML or CSS
(plugins/static/src/plugserve_static/_listing.py):

    python docs/screenshot_listing.py

It builds a temporary tree (directories, names with spaces, non-ASCII characters and `<b>`,
files of various sizes and dates), serves it with `python -m plugserve --path DIR` on a free
loopback port, and has headless Chromium (/usr/bin/chromium; on Debian
`apt-get install chromium`) save two screenshots of `/`:

    docs/static-listing.png        1000x700, a desktop window
    docs/static-listing-phone.png  390x844, a phone

Look at both afterwards: directories first, names escaped (`<b>` shows as text and nothing
after it turns bold), sizes, dates, the parent link, and no horizontal scrolling on the phone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
SHOTS = {"static-listing.png": "1000,700", "static-listing-phone.png": "390,844"}
# A fixed date (2024-05-17 09:30 UTC), minus a few days per entry, so the pictures do not
# change from one run to the next.
EPOCH = 1715938200


def make_tree(root: Path) -> None:
    """Directories and files whose names and sizes show what the listing does."""
    for name in ("assets", "docs & notes", "Übersicht"):
        (root / name).mkdir()
    (root / "assets" / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    files = {
        "README.md": 1_234,
        "index.css": 87,
        "holiday photo 2024.jpg": 2_400_000,
        "<b>not bold & not a tag.txt": 42,
        "café menu.pdf": 310_000,
        "日本語のファイル.txt": 5_000,
        "archive.tar.gz": 48_000_000,
        "data.json": 0,
        "a-rather-long-file-name-that-has-to-wrap-somewhere-on-a-phone-screen.html": 9_999,
        "no-known-type.qzx": 512,
    }
    for name, size in files.items():
        with open(root / name, "wb") as f:
            f.truncate(size)  # sparse: the size shows, the disk stays empty
    (root / ".hidden").write_text("dotfiles are not listed\n")
    for days, path in enumerate(sorted(root.iterdir())):
        stamp = EPOCH - days * 86_400 * 3
        os.utime(path, (stamp, stamp))


def serve(directory: Path) -> tuple[subprocess.Popen[str], str]:
    """Start plugserve on a free loopback port; return the process and its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "plugserve", "--path", str(directory),
         "--listen", "tcp:0:interface=127.0.0.1", "--no-access-log"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("plugserve: listening on "):
            return process, line.split(" on ", 1)[1].strip()
    process.kill()
    _, err = process.communicate()
    raise SystemExit(f"plugserve did not start:\n{err}")


def screenshot(url: str, size: str, out: Path, profile: Path) -> None:
    """One headless Chromium screenshot of `url` at `size` ("W,H")."""
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}",
         f"--window-size={size}", f"--screenshot={out}", url],
        check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    if not out.is_file():
        raise SystemExit(f"chromium wrote no {out}")
    print(f"wrote {out.relative_to(DOCS.parent)}")


def main() -> int:
    if not os.access(CHROMIUM, os.X_OK):
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="plugserve-listing-") as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        make_tree(site)
        process, url = serve(site)
        try:
            for name, size in SHOTS.items():
                profile = Path(tmp) / f"chromium-{name}"
                screenshot(url + "/", size, DOCS / name, profile)
                shutil.rmtree(profile, ignore_errors=True)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
