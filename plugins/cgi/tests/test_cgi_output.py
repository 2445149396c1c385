"""What a script prints, and what the client gets (RFC 3875 §6), with real sh scripts.

Stricter than Twisted, which drops a line it cannot read and carries on, loses the reason phrase
of `Status:`, and passes the script's framing headers through: here malformed output is a 502
with a log line, the reason phrase stays, and the server frames the body itself."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from cgi_scripts import Scripts, use
from plugserve.testing import RawClient


def sh(body: str) -> str:
    return "#!/bin/sh\n" + body


def test_status_keeps_its_reason_phrase(scripts: Scripts, cgi_bin: Callable[..., Any]) -> None:
    scripts.add("s", sh("printf 'Status: 404 Nope, not here\\r\\nContent-Type: text/plain\\r\\n"
                        "\\r\\ngone\\n'"))
    response = cgi_bin().get("/cgi-bin/s")
    assert (response.status, response.reason, response.body) == (404, "Nope, not here",
                                                                  b"gone\n")
    assert response.header("Status") is None
    assert response.header("Content-Type") == "text/plain"


def test_lf_line_endings_and_repeated_headers(scripts: Scripts,
                                              cgi_bin: Callable[..., Any]) -> None:
    scripts.add("s", sh("printf 'Content-Type: text/plain\\nX-A: 1\\nX-A: 2\\n\\nbody'"))
    response = cgi_bin().get("/cgi-bin/s")
    assert response.status == 200 and response.body == b"body"
    assert response.headers.get_all("X-A") == ["1", "2"]


def test_no_content_type_sends_none(scripts: Scripts, cgi_bin: Callable[..., Any]) -> None:
    scripts.add("s", sh("printf 'X-A: 1\\n\\nbody'"))
    response = cgi_bin().get("/cgi-bin/s")
    assert response.status == 200 and response.header("Content-Type") is None


def test_a_client_redirect_is_a_302(scripts: Scripts, cgi_bin: Callable[..., Any]) -> None:
    scripts.add("s", sh("printf 'Location: http://example.org/x\\n\\n'"))
    response = cgi_bin().get("/cgi-bin/s")
    assert (response.status, response.header("Location")) == (302, "http://example.org/x")


def test_a_status_beside_location_wins(scripts: Scripts, cgi_bin: Callable[..., Any]) -> None:
    scripts.add("s", sh("printf 'Status: 301 Moved\\nLocation: http://example.org/y\\n\\n'"))
    response = cgi_bin().get("/cgi-bin/s")
    assert (response.status, response.header("Location")) == (301, "http://example.org/y")


def test_a_local_redirect_is_served_internally(scripts: Scripts,
                                               cgi_bin: Callable[..., Any]) -> None:
    """RFC 3875 §6.2.2: the client sees the other script's answer, as a GET, with its query."""
    scripts.add("first", sh("printf 'Location: /cgi-bin/second/more?q=1\\n\\n'"))
    scripts.add("second", sh("printf 'Content-Type: text/plain\\n\\n%s %s %s %s' "
                             "\"$REQUEST_METHOD\" \"$PATH_INFO\" \"$QUERY_STRING\" "
                             "\"${CONTENT_LENGTH:-none}\""))
    response = cgi_bin().request("POST", "/cgi-bin/first", body=b"dropped")
    assert (response.status, response.body) == (200, b"GET /more q=1 none")
    assert response.header("Location") is None


def test_local_redirects_that_loop_end_in_a_500(scripts: Scripts, cgi_bin: Callable[..., Any],
                                                caplog: pytest.LogCaptureFixture) -> None:
    scripts.add("loop", sh("printf 'Location: /cgi-bin/loop\\n\\n'"))
    assert cgi_bin().get("/cgi-bin/loop").status == 500
    assert "more than 10 local redirects" in caplog.text


@pytest.mark.parametrize(("output", "why"), [
    ("no colon here\\n\\n", "without a colon"),
    ("Status: abc\\n\\n", "bad Status"),
    ("Status: 99 Low\\n\\n", "bad Status"),
    ("Status: 1000\\n\\n", "bad Status"),
    ("X-A: a\\000b\\n\\n", "control character"),
    ("X-A: a\\rb\\n\\n", "control character"),
    ("X-A: a\\n  folded\\n\\n", "folded line"),
    ("Bad Name: x\\n\\n", "bad header name"),
    ("Location: \\n\\n", "empty Location"),
])
def test_malformed_output_is_a_502_with_a_log_line(
        scripts: Scripts, cgi_bin: Callable[..., Any], caplog: pytest.LogCaptureFixture,
        output: str, why: str) -> None:
    scripts.add("bad", sh(f"printf '{output}SECRET'"))
    server = cgi_bin()
    with caplog.at_level(logging.WARNING, "plugserve.cgi"):
        response = server.get("/cgi-bin/bad")
    assert response.status == 502, response.body
    assert b"SECRET" not in response.body
    assert "malformed output" in caplog.text and why in caplog.text
    assert server.get("/cgi-bin/bad").status == 502  # and the server goes on serving


def test_a_head_past_its_limit_is_malformed(scripts: Scripts, cgi_bin: Callable[..., Any],
                                            caplog: pytest.LogCaptureFixture) -> None:
    use(head_bytes=1024)
    scripts.add("big", sh("i=0; while [ $i -lt 100 ]; do echo \"X-$i: $(printf '%050d' 0)\";"
                          " i=$((i+1)); done; echo; echo body"))
    assert cgi_bin().get("/cgi-bin/big").status == 502
    assert "no end of the header block in the first 1024 bytes" in caplog.text


def test_framing_headers_of_the_script_are_replaced(scripts: Scripts,
                                                    cgi_bin: Callable[..., Any]) -> None:
    scripts.add("s", sh("printf 'Content-Type: text/plain\\nContent-Length: 9999\\n"
                        "Transfer-Encoding: chunked\\nConnection: close\\nKeep-Alive: x\\n"
                        "Date: yesterday\\nServer: evil\\n\\nfive!'"))
    server = cgi_bin()
    with RawClient.to(server) as client:
        for _ in range(2):  # the connection stays usable: the framing is the server's own
            client.send(b"GET /cgi-bin/s HTTP/1.1\r\nHost: a\r\n\r\n")
            response = client.response()
            assert (response.status, response.body) == (200, b"five!")
            names = [name.lower() for name, _ in response.headers]
            assert b"keep-alive" not in names and b"connection" not in names
            assert (response.header(b"server") or b"").startswith(b"plugserve/")
            assert response.header(b"date") != b"yesterday"


def test_an_nph_script_speaks_to_the_client_itself(scripts: Scripts,
                                                   cgi_bin: Callable[..., Any]) -> None:
    scripts.add("nph-raw", sh("read line; printf 'HTTP/1.0 299 Mine\\r\\nX-Raw: %s\\r\\n\\r\\n"
                              "raw body' \"$line\""))
    server = cgi_bin()
    reply = server.raw(b"POST /cgi-bin/nph-raw HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n"
                       b"hello\n")
    assert reply == b"HTTP/1.0 299 Mine\r\nX-Raw: hello\r\n\r\nraw body"


def test_head_gets_the_headers_without_the_body(scripts: Scripts,
                                                cgi_bin: Callable[..., Any]) -> None:
    scripts.add("s", sh("printf 'Content-Type: text/plain\\n\\nbody'"))
    response = cgi_bin().request("HEAD", "/cgi-bin/s")
    assert (response.status, response.body) == (200, b"")
