"""plugserve-vhost from the command line, as users run it: `--vhost NAME=DIR` chosen by Host
(any case, a port, a trailing dot) or by an absolute-form target, `--vhost-default` and `--path`
as the default, `--vhost-dir` with folders added and removed while it runs, one host's files
never reachable from another, and bad options refused at start-up in one line."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from plugserve.testing import RawClient

from tests.cli_helpers import LOOPBACK, plugserve_command, running


def raw(url: str, target: str, host: str | None, method: str = "GET") -> tuple[int, bytes]:
    """(status, body) of one request sent byte for byte, so that targets and Host values
    reach the server exactly as written; the answer is read by the strict raw client."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    head = f"{method} {target} HTTP/1.1\r\n"
    if host is not None:
        head += f"Host: {host}\r\n"
    head += "Connection: close\r\n\r\n"
    with RawClient((parts.hostname, parts.port), timeout=10) as client:
        client.send(head.encode("latin-1"))
        response = client.response(method.encode())
    return response.status, response.body


@pytest.fixture
def sites(tmp_path: Path) -> Path:
    """a/ and b/ with their own index and b's secret, default/, and a shared parent."""
    for name in ("a", "b", "default"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_text(f"site {name}\n")
    (tmp_path / "b" / "secret.txt").write_text("b only\n")
    return tmp_path


def test_hosts_by_name_in_any_case_port_and_trailing_dot(sites: Path) -> None:
    with running(["--vhost", f"a.example={sites / 'a'}", "--vhost", f"B.Example={sites / 'b'}",
                  "--listen", LOOPBACK]) as server:
        for host in ("a.example", "A.EXAMPLE", "a.example:8080", "a.example.", "a.example.:1"):
            assert raw(server.url, "/", host) == (200, b"site a\n"), host
        for host in ("b.example", "b.EXAMPLE.:80"):
            assert raw(server.url, "/secret.txt", host) == (200, b"b only\n"), host


def test_an_unknown_host_without_a_default_is_a_404_naming_it_escaped(sites: Path) -> None:
    with running(["--vhost", f"a.example={sites / 'a'}", "--listen", LOOPBACK]) as server:
        status, body = raw(server.url, "/", "other.example")
        assert status == 404 and b"other.example" in body
        status, body = raw(server.url, "/", "<script>x</script>")
        assert status in (400, 404) and b"<script>" not in body
        assert raw(server.url, "/", "a.example") == (200, b"site a\n")  # still serving


@pytest.mark.parametrize("flag", ["--vhost-default", "--path"])
def test_the_default_serves_names_that_no_vhost_gives(sites: Path, flag: str) -> None:
    with running(["--vhost", f"a.example={sites / 'a'}", flag, str(sites / "default"),
                  "--listen", LOOPBACK]) as server:
        assert raw(server.url, "/", "nobody.example") == (200, b"site default\n")
        assert raw(server.url, "/", "a.example") == (200, b"site a\n")


def test_an_absolute_form_target_wins_over_host(sites: Path) -> None:
    with running(["--vhost", f"a.example={sites / 'a'}", "--vhost", f"b.example={sites / 'b'}",
                  "--listen", LOOPBACK]) as server:
        assert raw(server.url, "http://b.example/secret.txt", "a.example") == (200, b"b only\n")
        assert raw(server.url, "http://A.example:81/", "b.example") == (200, b"site a\n")


def test_one_host_cannot_reach_another_hosts_files(sites: Path) -> None:
    (sites / "loose.txt").write_text("not a host\n")
    with running(["--vhost-dir", str(sites), "--listen", LOOPBACK]) as server:
        assert raw(server.url, "/secret.txt", "b") == (200, b"b only\n")
        for target in ("/../b/secret.txt", "/%2e%2e/b/secret.txt", "/..%2fb%2fsecret.txt",
                       "/%2E%2E%2Fb%2Fsecret.txt", "/./../b/secret.txt"):
            status, body = raw(server.url, target, "a")
            assert b"b only" not in body, target
            assert status in (400, 403, 404) or body == b"site a\n", (target, status)
        for host in ("..", ".", "../b", "loose.txt", "a/../b", "%2e%2e"):
            status, body = raw(server.url, "/secret.txt", host)
            assert status in (400, 404) and b"b only" not in body, host
        assert raw(server.url, "/", "a") == (200, b"site a\n")


def test_vhost_dir_serves_folders_added_and_forgets_removed_ones(sites: Path) -> None:
    with running(["--vhost-dir", str(sites), "--vhost-dir-refresh", "0",
                  "--listen", LOOPBACK]) as server:
        assert raw(server.url, "/", "new.example")[0] == 404
        (sites / "new.example").mkdir()
        (sites / "new.example" / "index.html").write_text("new\n")
        assert raw(server.url, "/", "New.Example") == (200, b"new\n")
        (sites / "new.example" / "index.html").unlink()
        (sites / "new.example").rmdir()
        assert raw(server.url, "/", "new.example")[0] == 404
        (sites / ".hidden").mkdir()
        assert raw(server.url, "/", ".hidden")[0] in (400, 404)


def test_vhost_dir_refresh_holds_the_listing_for_its_seconds(sites: Path) -> None:
    with running(["--vhost-dir", str(sites), "--vhost-dir-refresh", "1.5",
                  "--listen", LOOPBACK]) as server:
        assert raw(server.url, "/", "late.example")[0] == 404
        started = time.monotonic()
        (sites / "late.example").mkdir()
        (sites / "late.example" / "index.html").write_text("late\n")
        seen = []
        while time.monotonic() - started < 10:
            status, _ = raw(server.url, "/", "late.example")
            seen.append((time.monotonic() - started, status))
            if status == 200:
                break
            time.sleep(0.1)
        assert seen[-1][1] == 200
        assert seen[-1][0] >= 1.0  # listed within the last 1.5 s: not seen at once
        assert raw(server.url, "/", "a") == (200, b"site a\n")


@pytest.mark.parametrize(("args", "message"), [
    (["--vhost", "a.example"], "give NAME=DIR"),
    (["--vhost", "=/tmp"], "give NAME=DIR"),
    (["--vhost", "a b=/tmp"], "--vhost a b=/tmp"),
    (["--vhost", "a.example=/no/such/dir"], "no such directory"),
    (["--vhost", "a.example=/tmp", "--vhost", "A.Example.=/tmp"], "named twice"),
    (["--vhost-default", "/no/such/dir"], "--vhost-default /no/such/dir: no such directory"),
    (["--vhost-dir", "/no/such/dir"], "--vhost-dir /no/such/dir: no such directory"),
    (["--vhost-dir", "/tmp", "--vhost-dir-refresh", "-1"], "0 or more"),
    (["--vhost-dir", "/tmp", "--vhost-dir-refresh", "soon"], "--vhost-dir-refresh"),
    (["--path", "/tmp", "--trust-forwarded", "10.0.0.0/99"], "give a CIDR"),
])
def test_bad_options_exit_2_with_one_line(args: list[str], message: str) -> None:
    done = plugserve_command(*args, "--listen", LOOPBACK)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len([line for line in done.stderr.splitlines() if "error" in line]) == 1
