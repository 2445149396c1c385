"""Take the screenshots of plugserve-distrib used in docs/distrib.md.

Run by hand (not by CI), from the repository root, after changing the user listing
(plugins/distrib/src/plugserve_distrib/_users.py):

    python docs/screenshot_distrib.py

It makes two temporary homes (alice with a personal server, bob with a public_html only),
starts a real `plugserve --personal --path` for alice (HOME set to her home) and a real front
server over a user database of the two (tests/distrib_front.py, the UserDirectory that
`--user` serves), and has headless Chromium (/usr/bin/chromium) save:

    docs/distrib-users.png      the listing at /, with GECOS names (one holds `<b>`, escaped)
    docs/distrib-personal.png   alice's site at /alice.plugserve/, served by her own process
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

from docs.screenshot_listing import CHROMIUM, screenshot  # noqa: E402
from tests.distrib_helpers import HERE, Personal, UserDatabase  # noqa: E402


def main() -> int:
    if not os.access(CHROMIUM, os.X_OK):
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="plugserve-distrib-") as tmp:
        root = Path(tmp)
        db = UserDatabase()
        alice = root / "alice"
        (alice / "site").mkdir(parents=True)
        (alice / "site" / "index.html").write_text(
            "<!DOCTYPE html><meta charset=utf-8><title>Alice</title>"
            "<body style='font-family:system-ui;margin:2em'><h1>Alice's personal server</h1>"
            "<p>Served by <code>plugserve --personal --path ~/site</code>, as alice, behind "
            "<code>plugserve --user</code>.</p><p><a href='notes/'>notes/</a></p>")
        (alice / "site" / "notes").mkdir()
        (alice / "site" / "notes" / "todo.txt").write_text("write the docs\n")
        db.add("alice", alice, "Alice Liddell,,,")
        bob = root / "bob"
        (bob / "public_html").mkdir(parents=True)
        (bob / "public_html" / "index.html").write_text("<p>bob</p>")
        db.add("bob", bob, "Bob <b>Builder</b>")
        personal = Personal(alice, "--path", str(alice / "site"))
        users = db.save(root / "users.json")
        front = subprocess.Popen(
            [sys.executable, "-m", "plugserve", "--config", str(HERE / "distrib_front.py"),
             "--listen", "tcp:0:interface=127.0.0.1", "--no-access-log"],
            stdout=subprocess.PIPE, text=True, cwd=str(DOCS.parent),
            env={**os.environ, "DISTRIB_USERS": str(users)})
        try:
            assert front.stdout is not None
            url = ""
            deadline = time.monotonic() + 20
            while not url and time.monotonic() < deadline:
                line = front.stdout.readline()
                if line.startswith("plugserve: listening on "):
                    url = line.split(" on ", 1)[1].strip()
            for name, path in (("distrib-users.png", "/"),
                               ("distrib-personal.png", "/alice.plugserve/")):
                profile = root / f"chromium-{name}"
                screenshot(url + path, "900,500", DOCS / name, profile)
                shutil.rmtree(profile, ignore_errors=True)
        finally:
            front.terminate()
            front.communicate(timeout=10)
            personal.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
