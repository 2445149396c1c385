"""plugserve-distrib end to end: a real front server (the UserDirectory of `--user`, over a
fake user database with temporary homes) and a real `plugserve --personal` process per user,
talking HTTP/1.1 over the user's UNIX socket."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from plugserve.testing import eventually

from tests.distrib_helpers import HERE, Personal, UserDatabase, front, home

SITE = str(HERE / "distrib_site.py")


@pytest.fixture
def db() -> UserDatabase:
    return UserDatabase()


@pytest.fixture
def alice(tmp_path: Path, db: UserDatabase) -> Iterator[Personal]:
    """alice, with a public_html and a personal server (distrib_site.py) on her socket."""
    folder = home(tmp_path, "alice")
    db.add("alice", folder, "Alice <Liddell>,,,")
    server = Personal(folder, "--config", SITE)
    yield server
    server.stop()


def get(url: str, **kw: Any) -> requests.Response:
    return requests.get(url, timeout=10, allow_redirects=False, **kw)


# -- the listing and the files ------------------------------------------------------------------

def test_listing_shows_each_users_sites_with_the_real_name_escaped(
        alice: Personal, tmp_path: Path, db: UserDatabase) -> None:
    db.add("bob", home(tmp_path, "bob"), "Bob")
    db.add("carol", home(tmp_path, "carol", site=False))  # neither: not listed
    db.add("dave", tmp_path / "no-such-home")  # an unreadable home is no error
    with front(db, tmp_path) as server:
        page = get(server.url + "/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert 'href="/alice/"' in page.text and 'href="/alice.plugserve/"' in page.text
    assert "Alice &lt;Liddell&gt;" in page.text and "<Liddell>" not in page.text
    assert 'href="/bob/"' in page.text and "bob.plugserve" not in page.text
    assert "carol" not in page.text and "dave" not in page.text


def test_public_html_is_served_as_path_would(tmp_path: Path, db: UserDatabase) -> None:
    db.add("bob", home(tmp_path, "bob"))
    with front(db, tmp_path) as server:
        assert get(server.url + "/bob/").text == "<p>bob's files</p>"
        assert get(server.url + "/bob/sub/a.txt").text == "a" * 4096
        moved = get(server.url + "/bob/sub")
        assert (moved.status_code, moved.headers["location"]) == (302, "/bob/sub/")
        assert get(server.url + "/~bob/sub/a.txt").status_code == 200
        assert get(server.url + "/nobody/").status_code == 404
        assert get(server.url + "/bob/missing").status_code == 404


def test_public_html_is_contained_no_symlink_out_is_followed(
        tmp_path: Path, db: UserDatabase) -> None:
    bob = home(tmp_path, "bob")
    secret = tmp_path / "secret.txt"
    secret.write_text("another user's file")
    (bob / "public_html" / "out.txt").symlink_to(secret)
    (bob / "public_html" / "in.txt").symlink_to(bob / "public_html" / "sub" / "a.txt")
    db.add("bob", bob)
    with front(db, tmp_path) as server:
        assert get(server.url + "/bob/out.txt").status_code in (403, 404)
        assert get(server.url + "/bob/in.txt").status_code == 200
    with front(db, tmp_path, "--user-follow-symlinks") as server:
        assert get(server.url + "/bob/out.txt").text == "another user's file"


# -- the relay ----------------------------------------------------------------------------------

def test_personal_server_sees_the_real_request(alice: Personal, tmp_path: Path,
                                               db: UserDatabase) -> None:
    with front(db, tmp_path) as server:
        port = urlsplit(server.url).port
        info = get(server.url + "/alice.plugserve/info?x=1",
                   headers={"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Prefix": "/evil"}).json()
    assert info["prePathURL"] == f"http://127.0.0.1:{port}/alice.plugserve/info"
    assert info["client"] == "127.0.0.1"  # the client's forged header was replaced
    assert info["uri"] == "/alice.plugserve/info?x=1"
    assert info["secure"] is False and info["host"] == "127.0.0.1"
    assert info["headers"]["X-Forwarded-Prefix"] == ["/alice.plugserve"]


def test_tilde_prefers_the_personal_server_and_links_stay_under_it(
        alice: Personal, tmp_path: Path, db: UserDatabase) -> None:
    with front(db, tmp_path) as server:
        info = get(server.url + "/~alice/info").json()
        assert info["uri"] == "/~alice/info"
        moved = get(server.url + "/~alice/files/sub")
        assert moved.headers["location"] == "/~alice/files/sub/"
        listing = get(server.url + "/alice.plugserve/files/sub/")
        assert "Directory listing for /alice.plugserve/files/sub/" in listing.text
        assert 'href="a.txt"' in listing.text


def test_session_cookie_is_scoped_to_the_users_prefix(alice: Personal, tmp_path: Path,
                                                      db: UserDatabase) -> None:
    with front(db, tmp_path) as server, requests.Session() as browser:
        first = browser.get(server.url + "/alice.plugserve/info", timeout=10)
        cookie = first.headers["set-cookie"]
        assert "TWISTED_SESSION_alice.plugserve=" in cookie
        assert "Path=/alice.plugserve/" in cookie
        again = browser.get(server.url + "/alice.plugserve/info", timeout=10).json()
        assert again["session"] == first.json()["session"]


def test_range_conditional_and_head_pass_through(alice: Personal, tmp_path: Path,
                                                 db: UserDatabase) -> None:
    with front(db, tmp_path) as server:
        url = server.url + "/alice.plugserve/files/sub/a.txt"
        whole = get(url)
        part = get(url, headers={"Range": "bytes=10-19"})
        assert (part.status_code, part.content) == (206, b"a" * 10)
        assert part.headers["content-range"] == "bytes 10-19/4096"
        same = get(url, headers={"If-None-Match": whole.headers["etag"]})
        assert (same.status_code, same.content) == (304, b"")
        head = requests.head(url, timeout=10)
        assert (head.headers["content-length"], head.content) == ("4096", b"")


def test_a_large_upload_streams_to_the_personal_server(alice: Personal, tmp_path: Path,
                                                       db: UserDatabase) -> None:
    data = os.urandom(8 * 1024 * 1024)

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(data), 65536):
            yield data[i:i + 65536]

    with front(db, tmp_path) as server:
        sized = requests.post(server.url + "/alice.plugserve/upload", data=data, timeout=30)
        chunked = requests.post(server.url + "/alice.plugserve/upload", data=chunks(),
                                timeout=30)
    expected = f"{len(data)} {hashlib.sha256(data).hexdigest()}"
    assert sized.text == expected and chunked.text == expected


# -- failures -----------------------------------------------------------------------------------

def test_a_personal_server_that_is_not_running_is_a_502_at_once(
        tmp_path: Path, db: UserDatabase) -> None:
    bob = home(tmp_path, "bob")
    db.add("bob", bob)
    db.add("carol", home(tmp_path, "carol", site=False))
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(bob / ".plugserve-web.sock"))  # a socket nobody listens on
    stale.close()
    with front(db, tmp_path) as server:
        for path in ("/bob.plugserve/", "/~bob/", "/carol.plugserve/x", "/~carol/"):
            started = time.monotonic()
            page = get(server.url + path)
            assert page.status_code == 502, path
            assert time.monotonic() - started < 1.0
            assert "personal server is not running" in page.text
        _, _, log = server.stop()
    assert "distrib: GET /bob.plugserve/: unix:" in log  # a log line names each failure
    assert "Traceback" not in log


def test_a_personal_server_dying_mid_response_aborts_the_client(
        alice: Personal, tmp_path: Path, db: UserDatabase) -> None:
    with front(db, tmp_path) as server:
        address = urlsplit(server.url)
        conn = http.client.HTTPConnection("127.0.0.1", address.port, timeout=10)
        conn.request("GET", "/alice.plugserve/die")
        response = conn.getresponse()
        assert response.status == 200
        with pytest.raises(http.client.IncompleteRead):
            response.read()
        conn.close()
        assert get(server.url + "/").status_code == 200  # the front keeps serving


def test_relayed_requests_have_a_cap_per_user(alice: Personal, tmp_path: Path,
                                              db: UserDatabase) -> None:
    with front(db, tmp_path, "--user-max-concurrent", "2") as server:
        results: list[int] = []

        def slow() -> None:
            results.append(get(server.url + "/alice.plugserve/slow?s=1.5").status_code)

        threads = [threading.Thread(target=slow) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        busy = get(server.url + "/alice.plugserve/info")
        for thread in threads:
            thread.join()
        after = get(server.url + "/alice.plugserve/info")
    assert results == [200, 200]
    assert (busy.status_code, busy.headers["retry-after"]) == (503, "1")
    assert after.status_code == 200


def test_a_slow_personal_server_times_out(alice: Personal, tmp_path: Path,
                                          db: UserDatabase) -> None:
    with front(db, tmp_path, "--user-timeout", "0.5") as server:
        started = time.monotonic()
        page = get(server.url + "/alice.plugserve/slow?s=3")
        assert page.status_code == 504
        assert time.monotonic() - started < 2.5
        assert get(server.url + "/alice.plugserve/info").status_code == 200


def test_forwarded_headers_are_believed_only_on_the_unix_socket(
        tmp_path: Path, db: UserDatabase) -> None:
    folder = home(tmp_path, "alice")
    db.add("alice", folder)
    server = Personal(folder, "--config", SITE, "--listen",
                      f"unix:{folder / '.plugserve-web.sock'}", "--listen",
                      "tcp:0:interface=127.0.0.1")
    try:
        output_port = _tcp_port(server)
        info = get(f"http://127.0.0.1:{output_port}/info",
                   headers={"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Prefix": "/evil",
                            "X-Forwarded-Host": "evil.example"}).json()
    finally:
        server.stop()
    assert info["client"] == "127.0.0.1" and info["uri"] == "/info"
    assert info["host"] == "127.0.0.1"


def _tcp_port(server: Personal) -> int:
    """The TCP port of a personal server that also listens on TCP (from its listening line)."""
    assert server.process.stdout is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = server.process.stdout.readline().decode()
        if line.startswith("plugserve: listening on http://"):
            return int(line.rsplit(":", 1)[1].strip().rstrip("/"))
    raise AssertionError("no TCP listening line")


def test_nothing_is_left_open_after_relays(alice: Personal, tmp_path: Path,
                                           db: UserDatabase) -> None:
    with front(db, tmp_path) as server:
        fds = Path(f"/proc/{server.process.pid}/fd")
        get(server.url + "/alice.plugserve/info")  # one pooled connection to alice from now
        before = len(list(fds.iterdir()))
        for _ in range(20):
            get(server.url + "/alice.plugserve/info")
        conn = socket.create_connection(("127.0.0.1", urlsplit(server.url).port or 0))
        conn.sendall(b"GET /alice.plugserve/slow?s=5 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        conn.close()  # the client leaves: the upstream connection it used must go too
        assert eventually(lambda: len(list(fds.iterdir())) <= before), before


# -- two users under their own uids (as root) ---------------------------------------------------

@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder that other uids can reach (pytest's tmp_path is private to root)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="distrib-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run servers as other uids")
def test_personal_servers_of_two_uids_and_a_planted_socket(shared_tmp: Path) -> None:
    db = UserDatabase()
    servers = []
    try:
        for name, uid in (("uone", 12345), ("utwo", 12346)):
            folder = home(shared_tmp, name, uid=uid)
            db.add(name, folder, uid=uid)
            servers.append(Personal(folder, "--path", str(folder / "public_html"), uid=uid))
            assert (folder / ".plugserve-web.sock").stat().st_uid == uid
        # A third user's home is writable by all (a careless chmod), and utwo planted a
        # socket in it: it must not be used.
        victim = home(shared_tmp, "uthree", uid=12347)
        victim.chmod(0o777)
        db.add("uthree", victim, uid=12347)
        planted = Personal(victim, "--path", str(shared_tmp / "utwo" / "public_html"),
                           uid=12346)
        servers.append(planted)
        with front(db, shared_tmp) as server:
            assert get(server.url + "/uone.plugserve/").text == "<p>uone's files</p>"
            assert get(server.url + "/utwo.plugserve/").text == "<p>utwo's files</p>"
            refused = get(server.url + "/uthree.plugserve/")
            assert refused.status_code == 502
            assert "utwo's files" not in refused.text
            tilde = get(server.url + "/~uthree/")
            assert tilde.status_code == 502 and "utwo" not in tilde.text
            _, _, log = server.stop()
        assert "is owned by uid 12346, not by the user (uid 12347)" in log
    finally:
        for personal in servers:
            personal.stop()


def test_the_docs_publisher_example_behind_the_front(tmp_path: Path, db: UserDatabase) -> None:
    folder = home(tmp_path, "alice", site=False)
    db.add("alice", folder)
    example = HERE.parent / "docs" / "examples" / "distrib_publisher.py"
    personal = Personal(folder, "--config", str(example))
    try:
        with front(db, tmp_path) as server:
            port = urlsplit(server.url).port
            page = get(server.url + "/alice.plugserve/")
    finally:
        personal.stop()
    assert page.text == f"Hello 127.0.0.1, this is http://127.0.0.1:{port}/alice.plugserve/\n"
