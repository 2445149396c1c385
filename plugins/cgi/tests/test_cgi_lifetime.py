"""A script's process ends with its request, whatever ends the request: the script itself
(what it left in the background is killed), `--cgi-timeout` (504 if nothing was sent), the
client leaving.  No zombie stays; stderr reaches the error log, capped; and each way a script
cannot start is the status it deserves, with a log line naming the cause."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cgi_scripts import Scripts, alive, new_children, use
from plugserve.resource import Resource
from plugserve.testing import RawClient, eventually
from plugserve_cgi import CGIScript, FilteredScript


def sh(body: str) -> str:
    return "#!/bin/sh\n" + body


def pids(path: Path) -> list[int]:
    return [int(word) for word in path.read_text().split()] if path.exists() else []


def no_children() -> bool:
    return not new_children()


def test_no_zombies_after_many_requests(scripts: Scripts, cgi_bin: Callable[..., Any]) -> None:
    scripts.add("s", sh("printf 'Content-Type: text/plain\\n\\nok'"))
    server = cgi_bin()
    conn = server.connection()
    for _ in range(30):
        assert server.request("GET", "/cgi-bin/s", conn=conn).body == b"ok"
    conn.close()
    assert eventually(no_children), new_children()


def test_what_a_script_leaves_running_is_killed_when_it_exits(
        scripts: Scripts, cgi_bin: Callable[..., Any], tmp_path: Path) -> None:
    record = tmp_path / "pids"
    scripts.add("s", sh(f"sleep 60 </dev/null >/dev/null 2>&1 & echo $! > {record}\n"
                        "printf 'Content-Type: text/plain\\n\\nok'"))
    assert cgi_bin().get("/cgi-bin/s").body == b"ok"
    (background,) = pids(record)
    assert eventually(lambda: not alive(background))
    assert eventually(no_children), new_children()


def test_a_script_past_the_timeout_is_killed_with_its_group_and_a_504(
        scripts: Scripts, cgi_bin: Callable[..., Any], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    use(timeout=0.5)
    record = tmp_path / "pids"
    scripts.add("slow", sh(f"sleep 60 & echo $$ $! > {record}; wait"))
    server = cgi_bin()
    started = time.monotonic()
    response = server.get("/cgi-bin/slow")
    assert response.status == 504
    assert time.monotonic() - started < 5
    assert "killed after --cgi-timeout 0.5s" in caplog.text
    assert all(eventually(lambda pid=pid: not alive(pid)) for pid in pids(record))
    assert eventually(no_children), new_children()


def test_a_timeout_after_the_head_aborts_the_connection(
        scripts: Scripts, cgi_bin: Callable[..., Any]) -> None:
    use(timeout=0.5)
    scripts.add("slow", sh("printf 'Content-Type: text/plain\\n\\nsome'; sleep 60"))
    reply = cgi_bin().raw(b"GET /cgi-bin/slow HTTP/1.1\r\nHost: a\r\n\r\n", timeout=5)
    assert reply.startswith(b"HTTP/1.1 200 ") and b"some" in reply
    assert not reply.endswith(b"0\r\n\r\n")  # no last chunk: the truncation shows
    assert eventually(no_children), new_children()


def test_a_client_that_leaves_has_the_script_killed(
        scripts: Scripts, cgi_bin: Callable[..., Any], tmp_path: Path) -> None:
    record = tmp_path / "pids"
    scripts.add("hang", sh(f"sleep 60 & echo $$ $! > {record}; wait"))
    server = cgi_bin()
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(b"GET /cgi-bin/hang HTTP/1.1\r\nHost: a\r\n\r\n")
        assert eventually(lambda: len(pids(record)) == 2)
    assert all(eventually(lambda pid=pid: not alive(pid)) for pid in pids(record))
    assert eventually(no_children), new_children()


def test_a_script_that_writes_endlessly_to_a_client_that_does_not_read_is_held(
        scripts: Scripts, cgi_bin: Callable[..., Any], tmp_path: Path) -> None:
    """Back-pressure: the script blocks in write(); what it wrote stays bounded (the pipe,
    the stdout window, the socket buffers), and it is killed when the client goes."""
    count = tmp_path / "count"
    scripts.add("flood", sh("printf 'Content-Type: application/octet-stream\\n\\n'\n"
                            f"i=0; while :; do head -c 65536 /dev/zero; i=$((i+1)); "
                            f"echo $i > {count}; done"))
    server = cgi_bin()
    with socket.create_connection((server.host, server.port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(b"GET /cgi-bin/flood HTTP/1.1\r\nHost: a\r\n\r\n")
        assert eventually(lambda: count.exists() and count.read_text().strip() != "")
        time.sleep(1.5)
        first = int(count.read_text())
        time.sleep(1.0)
        second = int(count.read_text())
        assert second == first, "the script kept writing to a client that does not read"
        assert first * 65536 < 32 * 1024 * 1024, first
    assert eventually(no_children), new_children()


def test_stderr_goes_to_the_log_line_by_line_with_the_name(
        scripts: Scripts, cgi_bin: Callable[..., Any],
        caplog: pytest.LogCaptureFixture) -> None:
    scripts.add("noisy", sh("echo first >&2; echo second >&2\n"
                            "printf 'Content-Type: text/plain\\n\\nok'"))
    with caplog.at_level(logging.WARNING, "plugserve.cgi"):
        assert cgi_bin().get("/cgi-bin/noisy").body == b"ok"
        assert eventually(lambda: "second" in caplog.text)
    lines = [r.getMessage() for r in caplog.records if r.name == "plugserve.cgi"]
    name = str(scripts.path / "noisy")
    assert f"cgi {name}: first" in lines and f"cgi {name}: second" in lines


def test_stderr_is_capped_per_request(scripts: Scripts, cgi_bin: Callable[..., Any],
                                      caplog: pytest.LogCaptureFixture) -> None:
    use(stderr_bytes=100)
    scripts.add("noisy", sh("i=0; while [ $i -lt 500 ]; do echo \"line $i\" >&2; i=$((i+1));"
                            " done; printf 'Content-Type: text/plain\\n\\nok'"))
    with caplog.at_level(logging.WARNING, "plugserve.cgi"):
        assert cgi_bin().get("/cgi-bin/noisy").body == b"ok"
        assert eventually(lambda: "more bytes of stderr not logged (the cap is 100)"
                          in caplog.text)
    logged = [r for r in caplog.records if "line " in r.getMessage()]
    assert 5 <= len(logged) <= 15


def test_a_script_that_ends_before_its_headers_is_a_502_with_its_stderr_logged(
        scripts: Scripts, cgi_bin: Callable[..., Any],
        caplog: pytest.LogCaptureFixture) -> None:
    scripts.add("dies", sh("echo 'cannot open database' >&2; printf 'Content-Type: te'; exit 3"))
    with caplog.at_level(logging.INFO, "plugserve.cgi"):
        assert cgi_bin().get("/cgi-bin/dies").status == 502
    assert "cannot open database" in caplog.text
    assert "ended before its headers were complete" in caplog.text
    assert "exited with status 3" in caplog.text


def test_a_file_that_is_not_executable_is_403(scripts: Scripts, cgi_bin: Callable[..., Any],
                                              caplog: pytest.LogCaptureFixture) -> None:
    scripts.add("plain.sh", sh("echo"), executable=False)
    assert cgi_bin().get("/cgi-bin/plain.sh").status == 403
    assert "not an executable file" in caplog.text


def test_a_missing_interpreter_is_500_naming_it(scripts: Scripts, cgi_bin: Callable[..., Any],
                                                caplog: pytest.LogCaptureFixture) -> None:
    scripts.add("s", "#!/nonexistent/interpreter\n")
    assert cgi_bin().get("/cgi-bin/s").status == 500
    assert "it, or the interpreter its #! line names, does not exist" in caplog.text


def test_a_missing_filter_program_is_500_naming_it(plugserve_server: Any, scripts: Scripts,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    class Missing(FilteredScript):
        filter = "/usr/bin/no-such-interpreter"

    root = Resource()
    root.putChild(b"x.pl", Missing(str(scripts.add("x.pl", "print 1;", executable=False))))
    assert plugserve_server(root).get("/x.pl").status == 500
    assert "'/usr/bin/no-such-interpreter', is not installed" in caplog.text


def test_a_script_without_a_shebang_is_500(scripts: Scripts, cgi_bin: Callable[..., Any],
                                           caplog: pytest.LogCaptureFixture) -> None:
    scripts.add("s", "\x7fELF-not-really")
    assert cgi_bin().get("/cgi-bin/s").status == 500
    assert "not a program" in caplog.text


@pytest.mark.parametrize("target", [
    b"/cgi-bin/../cgi-bin/s", b"/cgi-bin/%2e%2e/etc/passwd", b"/cgi-bin/%2E%2E/x",
    b"/cgi-bin/sub%2f..%2f..%2fs", b"/cgi-bin/.", b"/cgi-bin/missing", b"/cgi-bin/",
    b"/cgi-bin", b"/cgi-bin/s%00",
])
def test_dot_dot_missing_files_and_the_folder_itself_are_404(
        scripts: Scripts, cgi_bin: Callable[..., Any], target: bytes) -> None:
    scripts.add("s", sh("printf 'Content-Type: text/plain\\n\\nran'"))
    with RawClient.to(cgi_bin()) as client:
        client.send(b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        response = client.response()
    assert response.status == 404 and b"ran" not in response.body


def test_a_symlink_out_of_the_folder_is_404(scripts: Scripts, cgi_bin: Callable[..., Any],
                                            tmp_path: Path) -> None:
    outside = tmp_path / "outside.sh"
    outside.write_text(sh("printf 'Content-Type: text/plain\\n\\nran'"))
    outside.chmod(0o755)
    (scripts.path / "link").symlink_to(outside)
    assert cgi_bin().get("/cgi-bin/link").status == 404


def test_subfolders_are_cgi_folders_too(scripts: Scripts, cgi_bin: Callable[..., Any]) -> None:
    scripts.add("sub/s", sh("printf 'Content-Type: text/plain\\n\\n%s' \"$SCRIPT_NAME\""))
    assert cgi_bin().get("/cgi-bin/sub/s").body == b"/cgi-bin/sub/s"


def test_a_cgi_script_resource_in_a_tree(plugserve_server: Any, scripts: Scripts) -> None:
    root = Resource()
    root.putChild(b"run", CGIScript(str(scripts.add("s", sh(
        "printf 'Content-Type: text/plain\\n\\n%s|%s' \"$SCRIPT_NAME\" \"$PATH_INFO\"")))))
    assert plugserve_server(root).get("/run/x/y").body == b"/run|/x/y"
