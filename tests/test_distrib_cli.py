"""`plugserve --user` and `plugserve --personal` as commands: the guide's flow (one terminal
each), the lock file, and the bad combinations."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import requests

from tests.cli_helpers import LOOPBACK, plugserve_command, running


def test_the_guides_flow_personal_server_then_the_front(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>my site</p>")
    env = {"HOME": str(tmp_path)}
    with running(["--personal", "--path", str(site)], env=env) as personal:
        sock = tmp_path / ".plugserve-web.sock"
        assert personal.url == f"http+unix://{sock}"
        assert os.readlink(f"{sock}.lock") == str(personal.process.pid)
        assert sock.stat().st_mode & 0o777 == 0o666  # a front running as www-data connects
        with (pytest.raises(AssertionError, match=r"in use|locked|running"),
              running(["--personal", "--path", str(site)], env=env)):
            pass  # a second one never takes a running server's socket
        personal.stop(signal.SIGKILL)
    assert sock.exists()  # what a crash leaves behind...
    with running(["--personal", "--path", str(site)], env=env) as again:
        assert again.url == f"http+unix://{sock}"  # ...is taken over: the owner is dead
        code, _, _ = again.stop()
    assert code == 0 and not sock.exists() and not os.path.lexists(f"{sock}.lock")


def test_user_serves_the_systems_users(tmp_path: Path) -> None:
    with running(["--user", "--listen", LOOPBACK], cwd=tmp_path) as front:
        listing = requests.get(front.url + "/", timeout=10)
        assert listing.status_code == 200 and "<h1>Users</h1>" in listing.text
        assert requests.get(front.url + "/no-such-user-xyz/", timeout=10).status_code == 404
        missing = requests.get(front.url + "/root.plugserve/", timeout=10)
        assert missing.status_code == 502  # root has no personal server running
        _, _, err = front.stop()
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--user", "--personal"], "--user and --personal: give one"),
     (["--user", "--path", "."], "--user serves every user's public_html at the root"),
     (["--user", "--user-timeout", "0"], "--user-timeout 0: give a number of seconds"),
     (["--user", "--user-connect-timeout", "-1"], "--user-connect-timeout -1: give"),
     (["--user", "--user-max-concurrent", "0"], "--user-max-concurrent 0: give 1 or more")],
)
def test_bad_options_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = plugserve_command(*args)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_personal_alone_has_nothing_to_serve(tmp_path: Path) -> None:
    result = plugserve_command("--personal", cwd=tmp_path, env={**os.environ,
                                                                 "HOME": str(tmp_path)})
    assert result.returncode == 2 and "nothing to serve" in result.stderr
