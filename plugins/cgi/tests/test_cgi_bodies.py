"""Request bodies on their way to a script's stdin: streamed as they arrive, a chunked one
spooled to learn its CONTENT_LENGTH (411 past --cgi-spool-max), a script that does not read
its body, and nothing left open afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from cgi_scripts import DUMP, Scripts, new_children, use
from plugserve.testing import RawClient, eventually


def sh(body: str) -> str:
    return "#!/bin/sh\n" + body


def test_the_body_streams_to_stdin_as_it_arrives(scripts: Scripts,
                                                 cgi_bin: Callable[..., Any]) -> None:
    """The script answers after the first 5 bytes, while the rest of the body is not sent."""
    scripts.add("first5", sh("head -c 5 > /tmp/.x$$; printf 'Content-Type: text/plain\\n\\n'; "
                             "cat /tmp/.x$$; rm -f /tmp/.x$$"))
    server = cgi_bin()
    with RawClient.to(server) as client:
        client.send(b"POST /cgi-bin/first5 HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n"
                    b"\r\nhello")
        response = client.response()
    assert (response.status, response.body) == (200, b"hello")


def test_a_large_body_reaches_the_script_whole(scripts: Scripts,
                                               cgi_bin: Callable[..., Any]) -> None:
    scripts.add("count", sh("n=$(wc -c); printf 'Content-Type: text/plain\\n\\n%s %s' "
                            "\"$CONTENT_LENGTH\" $n"))
    body = os.urandom(3 * 1024 * 1024)
    response = cgi_bin().request("POST", "/cgi-bin/count", body=body)
    assert response.body == f"{len(body)} {len(body)}".encode()


def test_a_chunked_upload_gets_its_content_length(scripts: Scripts,
                                                  cgi_bin: Callable[..., Any]) -> None:
    scripts.add("dump", DUMP)
    with RawClient.to(cgi_bin()) as client:
        client.send(b"POST /cgi-bin/dump HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                    b"\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        response = client.response()
    seen = json.loads(response.body)
    assert seen["body"] == "hello world"
    assert seen["env"]["CONTENT_LENGTH"] == "11"
    assert "HTTP_TRANSFER_ENCODING" in seen["env"]  # an end-to-end header the script may read


def test_a_chunked_upload_past_the_spool_cap_is_411(scripts: Scripts,
                                                    cgi_bin: Callable[..., Any]) -> None:
    use(spool_bytes=10)
    scripts.add("dump", DUMP)
    with RawClient.to(cgi_bin()) as client:
        client.send(b"POST /cgi-bin/dump HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                    b"\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        response = client.response()
    assert response.status == 411 and b"send a Content-Length" in response.body
    assert not new_children()  # refused before any script started


def test_a_script_that_ignores_its_body_still_answers(scripts: Scripts,
                                                      cgi_bin: Callable[..., Any]) -> None:
    scripts.add("s", sh("printf 'Content-Type: text/plain\\n\\nignored'"))
    server = cgi_bin()
    conn = server.connection()
    for _ in range(3):
        response = server.request("POST", "/cgi-bin/s", body=b"x" * 300_000, conn=conn)
        assert (response.status, response.body) == (200, b"ignored")
    conn.close()


def test_a_client_that_leaves_mid_upload_ends_the_script(scripts: Scripts,
                                                         cgi_bin: Callable[..., Any]) -> None:
    scripts.add("slurp", sh("cat > /dev/null; printf 'Content-Type: text/plain\\n\\nok'"))
    server = cgi_bin()
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(b"POST /cgi-bin/slurp HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n"
                     b"\r\n" + b"x" * 1000)
        assert eventually(lambda: bool(new_children()))
    assert eventually(lambda: not new_children()), new_children()


def test_nothing_stays_open(scripts: Scripts, cgi_bin: Callable[..., Any]) -> None:
    """File descriptors and tasks return to where they were after scripts of every kind."""
    scripts.add("s", sh("printf 'Content-Type: text/plain\\n\\nok'"))
    scripts.add("bad", sh("echo nonsense; echo"))
    scripts.add("nph-s", sh("printf 'HTTP/1.0 200 OK\\r\\n\\r\\nraw'"))
    server = cgi_bin()
    server.get("/cgi-bin/s")
    before = len(os.listdir("/proc/self/fd"))
    tasks_before = server.call(lambda: len(asyncio.all_tasks()))
    for path in ("/cgi-bin/s", "/cgi-bin/bad", "/cgi-bin/nph-s") * 5:
        server.request("POST", path, body=b"body")
    assert eventually(lambda: not new_children())
    time.sleep(0.2)
    assert eventually(lambda: len(os.listdir("/proc/self/fd")) <= before)
    assert server.call(lambda: len(asyncio.all_tasks())) <= tasks_before
