"""Endpoint strings (Twisted's strports syntax) and serving on each kind of endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plugserve
import pytest
from plugserve.config import Config
from plugserve.endpoints import Endpoint, parse_endpoint
from plugserve.error import UsageError
from plugserve.resource import Resource
from plugserve.server import Request
from plugserve.testing import TestServer

from tests.cli_helpers import running
from tests.wire import RawClient, ServerFactory, good_request


class Report(Resource):
    """Says whether the request came over TLS, and the URL the server thinks it has."""

    isLeaf = True

    def render_GET(self, request: Request) -> bytes | int:
        secure = b"secure" if request.isSecure() else b"plain"
        return secure + b" " + request.prePathURL()


# -- parse_endpoint ------------------------------------------------------------------------------

GOOD = [
    ("tcp:8080", Endpoint("tcp", port=8080)),
    ("TCP:80", Endpoint("tcp", port=80)),
    ("tcp:port=80", Endpoint("tcp", port=80)),
    ("tcp:0:interface=127.0.0.1:backlog=128",
     Endpoint("tcp", port=0, interface="127.0.0.1", backlog=128)),
    ("tcp:interface=127.0.0.1:port=8080", Endpoint("tcp", port=8080, interface="127.0.0.1")),
    ("tcp:65535", Endpoint("tcp", port=65535)),
    ("tcp6:8080:interface=\\:\\:1", Endpoint("tcp6", port=8080, interface="::1")),
    ("tcp6:0", Endpoint("tcp6", port=0)),
    ("unix:/run/p.sock", Endpoint("unix", path="/run/p.sock")),
    ("unix:/run/p.sock:mode=0660", Endpoint("unix", path="/run/p.sock", mode=0o660)),
    ("unix:address=/run/p.sock:backlog=5:lockfile=1",
     Endpoint("unix", path="/run/p.sock", backlog=5, want_pid=True)),
    ("unix:/run/a\\:b.sock", Endpoint("unix", path="/run/a:b.sock")),
    ("ssl:8443:privateKey=k.pem:certKey=c.pem",
     Endpoint("ssl", port=8443, private_key="k.pem", cert_key="c.pem")),
    ("ssl:443:privateKey=both.pem", Endpoint("ssl", port=443, private_key="both.pem")),
]


@pytest.mark.parametrize(("text", "expected"), GOOD, ids=[g[0] for g in GOOD])
def test_parse_endpoint(text: str, expected: Endpoint) -> None:
    assert parse_endpoint(text) == expected


def test_parse_endpoint_expands_the_home_directory() -> None:
    endpoint = parse_endpoint("unix:~/p.sock")
    assert endpoint.path == os.path.expanduser("~/p.sock")
    assert not endpoint.path.startswith("~")


BAD = [
    # (text, words the message must contain)
    ("", ["tcp:PORT", "unix:PATH"]),
    ("8080", ["tcp:PORT"]),
    ("http:80", ["tcp:PORT", "ssl:PORT"]),
    ("tcp", ["tcp:PORT"]),
    ("tcp:", ["port", "0 to 65535"]),
    ("tcp:abc", ["port", "'abc'"]),
    ("tcp:70000", ["port", "65535"]),
    ("tcp:-1", ["port"]),
    ("tcp:+80", ["port"]),
    ("tcp:interface=127.0.0.1", ["needs a port"]),
    ("tcp:80:backlog=x", ["backlog", "'x'"]),
    ("tcp:80:foo=bar", ["unknown option", "foo"]),
    ("tcp:80:privateKey=k.pem", ["unknown option", "privateKey"]),
    ("tcp:80:8080", ["unexpected", "8080"]),
    ("tcp6:0:interface=::1", ["unexpected", "\\:"]),  # would have bound every interface
    ("unix:", ["needs a path"]),
    ("unix:/a:/b", ["unexpected", "/b"]),
    ("unix:/p.sock:mode=999", ["mode", "octal"]),
    ("unix:/p.sock:mode=rw", ["mode", "'rw'"]),
    ("unix:/p.sock:port=80", ["unknown option", "port"]),
    ("ssl:443", ["privateKey"]),
    ("ssl:443:certKey=c.pem", ["privateKey"]),
]


@pytest.mark.parametrize(("text", "words"), BAD, ids=[b[0] or "empty" for b in BAD])
def test_parse_endpoint_rejects(text: str, words: list[str]) -> None:
    with pytest.raises(UsageError) as info:
        parse_endpoint(text)
    message = str(info.value)
    assert repr(text) in message, "the message quotes the endpoint"
    for word in words:
        assert word in message


# -- serving -------------------------------------------------------------------------------------


@contextlib.contextmanager
def serving(*endpoints: str, **settings: Any) -> Iterator[plugserve.Server]:
    """plugserve.serve(Report(), *endpoints) on an event loop in a thread; closed at the end."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        config = Config(access_log=False, **settings)
        server = asyncio.run_coroutine_threadsafe(
            plugserve.serve(Report(), *endpoints, config=config), loop
        ).result(10)
        try:
            yield server
        finally:
            asyncio.run_coroutine_threadsafe(server.close(timeout=2), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _addresses(server: TestServer) -> list[str]:
    assert server.server is not None
    return server.server.addresses


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _one_get(client: RawClient) -> bytes:
    client.send(good_request(b"localhost"))
    response = client.response()
    assert response.status == 200
    return response.body


def test_serve_on_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / "p.sock"
    with serving(f"unix:{path}:mode=0600") as server:
        assert server.addresses == [f"http+unix://{path}"]
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with RawClient(str(path), family=socket.AF_UNIX) as client:
            assert _one_get(client).startswith(b"plain http://localhost")


def test_unix_socket_replaces_a_stale_socket_but_not_a_file(tmp_path: Path) -> None:
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(stale))  # left behind, as by a crashed server
    with serving(f"unix:{stale}") as server, RawClient(str(stale), family=socket.AF_UNIX) as c:
        assert server.addresses == [f"http+unix://{stale}"]
        assert _one_get(c).startswith(b"plain")
    regular = tmp_path / "file.txt"
    regular.write_text("keep me")
    with pytest.raises(OSError), serving(f"unix:{regular}"):
        pass
    assert regular.read_text() == "keep me"


def test_unix_socket_of_a_running_server_is_not_taken_over(tmp_path: Path) -> None:
    """A second server on the same path fails with `already in use`; the first keeps its
    socket file and its clients (replacing it would cut it off without a word)."""
    path = tmp_path / "p.sock"
    with serving(f"unix:{path}"):
        with pytest.raises(OSError, match="already in use"), serving(f"unix:{path}"):
            pass
        with RawClient(str(path), family=socket.AF_UNIX) as client:
            assert _one_get(client).startswith(b"plain")


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
def test_serve_on_tcp6(plugserve_server: ServerFactory) -> None:
    server = plugserve_server(Report(), listen=("tcp6:0:interface=\\:\\:1",))
    [url] = _addresses(server)
    assert url.startswith("http://[::1]:")
    with RawClient(("::1", _port(url)), family=socket.AF_INET6) as client:
        client.send(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")
        response = client.response()
        assert (response.status, response.body) == (200, b"plain http://[::1]:8080/")


TLSFiles = tuple[Path, Path, ssl.SSLContext]


@pytest.fixture
def tls(tmp_path: Path) -> TLSFiles:
    """A trustme CA's certificate for localhost and 127.0.0.1 as (key, cert) files, and a
    client context that trusts that CA."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    key_file, cert_file = tmp_path / "key.pem", tmp_path / "cert.pem"
    cert.private_key_pem.write_to_path(str(key_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    context.set_alpn_protocols(["http/1.1"])
    return key_file, cert_file, context


def test_serve_on_ssl(plugserve_server: ServerFactory, tls: TLSFiles) -> None:
    key, cert, context = tls
    server = plugserve_server(
        Report(),
        listen=("tcp:0:interface=127.0.0.1",
                f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"),
    )
    plain_url, tls_url = _addresses(server)
    assert plain_url.startswith("http://127.0.0.1:")
    assert tls_url.startswith("https://127.0.0.1:")
    with RawClient(("127.0.0.1", _port(tls_url)), ssl_context=context,
                   server_hostname="localhost") as client:
        assert isinstance(client.sock, ssl.SSLSocket)
        assert client.sock.selected_alpn_protocol() == "http/1.1"
        assert _one_get(client) == b"secure https://localhost/"
    # The same site over the clear endpoint is not secure.
    assert server.get("/").body.startswith(b"plain http://")


def test_ssl_with_key_and_chain_in_one_file(tmp_path: Path, tls: TLSFiles) -> None:
    key, cert, context = tls
    both = tmp_path / "both.pem"
    both.write_bytes(key.read_bytes() + cert.read_bytes())
    with serving(f"ssl:0:interface=127.0.0.1:privateKey={both}") as server:
        [url] = server.addresses
        with RawClient(("127.0.0.1", _port(url)), ssl_context=context,
                       server_hostname="localhost") as client:
            assert _one_get(client).startswith(b"secure https://")


def test_ssl_rejects_a_plain_http_client(tls: TLSFiles) -> None:
    key, cert, _context = tls
    with serving(f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}") as server:
        [url] = server.addresses
        with socket.create_connection(("127.0.0.1", _port(url)), timeout=5) as sock:
            sock.sendall(good_request())
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            assert not data.startswith(b"HTTP/1.1 200")


def test_ssl_with_a_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="TLS key"), serving(
        f"ssl:0:interface=127.0.0.1:privateKey={tmp_path / 'missing.pem'}"
    ):
        pass


def test_several_endpoints_at_once(tmp_path: Path, tls: TLSFiles) -> None:
    key, cert, context = tls
    path = tmp_path / "p.sock"
    endpoints = [
        "tcp:0:interface=127.0.0.1",
        "tcp:0:interface=127.0.0.1",
        f"unix:{path}",
        f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
    ]
    with serving(*endpoints) as server:
        first, second, unix, secure = server.addresses
        assert first != second
        assert unix == f"http+unix://{path}"
        bodies = []
        for url in (first, second):
            with RawClient(("127.0.0.1", _port(url))) as client:
                bodies.append(_one_get(client))
        with RawClient(str(path), family=socket.AF_UNIX) as client:
            bodies.append(_one_get(client))
        with RawClient(("127.0.0.1", _port(secure)), ssl_context=context,
                       server_hostname="localhost") as client:
            bodies.append(_one_get(client))
        assert [b.split()[0] for b in bodies] == [b"plain"] * 3 + [b"secure"]
        assert len(server.connections) <= 1  # the others have gone or are going


def test_endpoints_bind_all_or_none(tmp_path: Path) -> None:
    """A failing endpoint releases the ones already bound (Server.start binds all or none)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = tmp_path / "first.sock"
        with pytest.raises(OSError), serving(
            f"unix:{path}", f"tcp:{port}:interface=127.0.0.1"
        ):
            pass
        # Nobody listens on the unix socket any more.
        with socket.socket(socket.AF_UNIX) as sock, pytest.raises(OSError):
            sock.connect(str(path))


def test_bad_endpoint_string_fails_before_binding() -> None:
    with pytest.raises(UsageError, match="unexpected"), serving("tcp6:0:interface=::1"):
        pass


def test_tls_client_through_http_client(plugserve_server: ServerFactory, tls: TLSFiles) -> None:
    """A standard-library HTTPS client (certificate checked against the trustme CA)."""
    import http.client

    key, cert, context = tls
    server = plugserve_server(
        Report(), listen=(f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",)
    )
    [url] = _addresses(server)
    conn = http.client.HTTPSConnection("localhost", _port(url), context=context, timeout=5)
    try:
        for _ in range(2):  # keep-alive over TLS
            conn.request("GET", "/x")
            response = conn.getresponse()
            assert response.status == 200
            assert response.read().startswith(b"secure https://localhost")
    finally:
        conn.close()


# -- wantPID=1: the PID lock file of a unix: socket -------------------------------------------


@pytest.mark.parametrize("option", ["wantPID=1", "lockfile=1"])
def test_want_pid_parses_under_both_names(option: str) -> None:
    assert parse_endpoint(f"unix:/run/p.sock:{option}").want_pid is True
    assert parse_endpoint("unix:/run/p.sock:wantPID=0").want_pid is False


def test_want_pid_must_be_0_or_1() -> None:
    with pytest.raises(UsageError, match="wantPID must be 0 or 1, not 'yes'"):
        parse_endpoint("unix:/run/p.sock:wantPID=yes")


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_want_pid_writes_the_lock_and_takes_over_a_crashed_servers_socket(
        tmp_path: Path) -> None:
    path = tmp_path / "p.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))  # the socket of a server that crashed ...
    os.symlink(str(_dead_pid()), f"{path}.lock")  # ... and its lock, naming a dead process
    with serving(f"unix:{path}:wantPID=1"), RawClient(str(path), family=socket.AF_UNIX) as c:
        assert os.readlink(f"{path}.lock") == str(os.getpid())
        assert _one_get(c).startswith(b"plain")


def test_want_pid_never_takes_the_socket_of_a_live_lock_holder(tmp_path: Path) -> None:
    path = tmp_path / "p.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))  # nobody listens: a probe alone would replace it
    holder = subprocess.Popen(["sleep", "30"])
    try:
        os.symlink(str(holder.pid), f"{path}.lock")
        with pytest.raises(OSError, match=f"names process {holder.pid}, which is running"), \
                serving(f"unix:{path}:wantPID=1"):
            pass
        assert stat.S_ISSOCK(os.stat(path).st_mode)  # untouched
        assert os.readlink(f"{path}.lock") == str(holder.pid)
    finally:
        holder.kill()
        holder.wait()


def test_want_pid_refuses_a_lock_path_that_is_not_a_lock(tmp_path: Path) -> None:
    path = tmp_path / "p.sock"
    Path(f"{path}.lock").write_text("mine")
    with pytest.raises(OSError, match="is not a PID lock file"), \
            serving(f"unix:{path}:wantPID=1"):
        pass
    assert Path(f"{path}.lock").read_text() == "mine"


def test_want_pid_lock_and_socket_are_removed_when_the_server_exits(tmp_path: Path) -> None:
    path = tmp_path / "p.sock"
    lock = Path(f"{path}.lock")
    with running(["--config", "examples/site.py", "--listen", f"unix:{path}:wantPID=1"]) as s:
        assert os.readlink(lock) == str(s.process.pid)
        status, _, err = s.stop(signal.SIGTERM)
        assert status == 0, err
    assert not lock.is_symlink() and not path.exists()
    with running(["--config", "examples/site.py", "--listen", f"unix:{path}:wantPID=1"]) as s:
        s.stop(signal.SIGKILL)  # a crash: the lock stays, naming a dead process
    assert lock.is_symlink()
    with running(["--config", "examples/site.py", "--listen", f"unix:{path}:wantPID=1"]) as s:
        assert os.readlink(lock) == str(s.process.pid)
