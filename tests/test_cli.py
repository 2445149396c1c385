"""The `plugserve` command, run for real in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import urllib.request
from pathlib import Path

import pytest

from tests.cli_helpers import LOOPBACK, REPO, plugserve_command, running

SLOW_SITE = """
from plugserve import reactor
from plugserve.resource import Resource
from plugserve.server import NOT_DONE_YET

class Slow(Resource):
    isLeaf = True
    def render_GET(self, request):
        request.write(b"start;")
        reactor.callLater(0.7, lambda: (request.write(b"end"), request.finish()))
        return NOT_DONE_YET

class Boom(Resource):
    isLeaf = True
    def render_GET(self, request):
        raise ValueError("kaboom-secret")

root = Resource()
root.putChild(b"slow", Slow())
root.putChild(b"boom", Boom())
"""


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_version_and_help_show_core_and_limit_groups():
    result = plugserve_command("--version")
    assert result.returncode == 0 and result.stdout.startswith("plugserve 0.")
    help_text = plugserve_command("--help").stdout
    for option in ("--listen", "--plugin", "--no-plugin", "--config", "--logfile", "--add-header",
                   "--pidfile", "--display-tracebacks", "--encode", "--max-body", "--max-headers",
                   "--header-timeout", "--keepalive-timeout", "--max-connections",
                   "--shutdown-timeout", "--session-timeout", "--max-request-line",
                   "--max-header-bytes", "--body-timeout"):
        assert option in help_text, option
    assert "plugin example:" in help_text  # the example plugin's own group


def test_nothing_to_serve_exits_2_and_says_what_could(tmp_path):
    result = plugserve_command(cwd=tmp_path)
    assert result.returncode == 2
    assert "nothing to serve" in result.stderr
    assert "--config FILE.py" in result.stderr
    assert "plugin 'distrib' (installed)" in result.stderr  # (test_plugin_names: the others)
    assert "pip install plugserve-" not in result.stderr  # no package index has these names
    assert "--path DIR" in result.stderr
    assert "Traceback" not in result.stderr


def test_plugins_lists_the_example_plugin_as_json():
    result = plugserve_command("plugins", "--json")
    assert result.returncode == 0, result.stderr
    records = {r["name"]: r for r in json.loads(result.stdout)}
    example = records["example"]
    assert example["status"] == "loaded"
    assert example["distribution"] == "plugserve-example"
    assert example["module"] == "plugserve_example._plugin"
    assert "plugserve_make_root" in example["hooks"]
    text = plugserve_command("plugins").stdout
    assert "example" in text and "loaded" in text


def test_no_plugin_blocks_and_autoload_can_be_disabled():
    blocked = json.loads(plugserve_command("plugins", "--json", "--no-plugin", "example").stdout)
    assert {r["name"]: r["status"] for r in blocked}["example"] == "blocked"
    env = {**os.environ, "PLUGSERVE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    off = json.loads(plugserve_command("plugins", "--json", env=env).stdout)
    assert {r["name"]: r["status"] for r in off}["example"].startswith("not loaded")
    on = json.loads(plugserve_command("plugins", "--json", "--plugin", "example", env=env).stdout)
    assert {r["name"]: r["status"] for r in on}["example"] == "loaded"


def test_broken_plugin_is_reported_and_the_rest_work(tmp_path):
    (tmp_path / "broken_plugin.py").write_text("raise ImportError('missing dependency xyz')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = plugserve_command("--plugin", "broken_plugin", "--hello", "x", env=env)
    assert result.returncode == 2
    assert "broken_plugin" in result.stderr and "missing dependency xyz" in result.stderr
    assert "Traceback" not in result.stderr


def test_plugin_by_dotted_module_path_is_loaded_and_selected(tmp_path):
    (tmp_path / "my_root_plugin.py").write_text(
        "from plugserve import hookimpl\n"
        "from plugserve.resource import Resource\n"
        "class R(Resource):\n"
        "    isLeaf = True\n"
        "    def render_GET(self, request):\n"
        "        return b'from my plugin'\n"
        "@hookimpl\n"
        "def plugserve_make_root(config):\n"
        "    return R()\n"
    )
    env = {"PYTHONPATH": str(tmp_path)}
    # Both this plugin and the example (--hello) could serve: the selected one is asked first.
    with running(["--plugin", "my_root_plugin", "--hello", "example", "--listen", LOOPBACK],
                 env=env) as server:
        assert fetch(server.url + "/")[2] == b"from my plugin"


def test_example_plugin_serves_from_its_option():
    with running(["--hello", "Hi <there>", "--served-by", "cli", "--listen", LOOPBACK]) as server:
        status, headers, body = fetch(server.url + "/x")
        assert status == 200 and b"Hi &lt;there&gt;" in body
        assert headers["X-Served-By"] == "cli"


def test_plugin_usage_error_exits_2():
    result = plugserve_command("--hello", "x", "--served-by", "bad\x01name")
    assert result.returncode == 2
    assert "--served-by" in result.stderr


def test_config_file_with_listen_list_and_site(tmp_path):
    config = tmp_path / "site.py"
    config.write_text(
        "from plugserve.resource import Resource\n"
        "from plugserve.server import Site\n"
        "class R(Resource):\n"
        "    isLeaf = True\n"
        "    def render_GET(self, request):\n"
        "        return request.getHost().__class__.__name__.encode()\n"
        "site = Site(R())\n"
        f"listen = [{LOOPBACK!r}, {LOOPBACK!r}]\n"
    )
    with running(["--config", str(config)], count=2) as server:
        assert len(set(server.urls)) == 2
        for url in server.urls:
            assert fetch(url + "/")[2] == b"IPv4Address"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = 1\nroot = undefined_name\n", "line 2: NameError"),
        ("def f(:\n", "SyntaxError"),
        ("x = 1\n", "must define `root`"),
    ],
)
def test_config_file_errors_name_file_and_line(tmp_path, source, expected):
    config = tmp_path / "bad.py"
    config.write_text(source)
    result = plugserve_command("--config", str(config))
    assert result.returncode == 2
    assert str(config) in result.stderr and expected in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_endpoint_and_bad_header_are_usage_errors(tmp_path):
    config = tmp_path / "site.py"
    config.write_text("from plugserve.resource import Resource\nroot = Resource()\n")
    result = plugserve_command("--config", str(config), "--listen", "tcp:notaport")
    assert result.returncode == 2 and "bad endpoint" in result.stderr
    result = plugserve_command("--config", str(config), "--add-header", "no colon here")
    assert result.returncode == 2 and "--add-header" in result.stderr
    result = plugserve_command("--config", str(config), "--encode", "brotli9000")
    assert result.returncode == 2 and "gzip" in result.stderr


def test_pidfile_sigterm_graceful_shutdown_and_logfile(tmp_path):
    config = tmp_path / "site.py"
    config.write_text(SLOW_SITE)
    pidfile = tmp_path / "plugserve.pid"
    logfile = tmp_path / "access.log"
    args = ["--config", str(config), "--listen", LOOPBACK, "--pidfile", str(pidfile),
            "--logfile", str(logfile), "--add-header", "X-Test: yes",
            "--shutdown-timeout", "5"]
    with running(args) as server:
        assert int(pidfile.read_text()) == server.process.pid
        result: dict[str, bytes] = {}
        in_flight = threading.Event()

        def slow_request() -> None:
            with urllib.request.urlopen(server.url + "/slow", timeout=10) as response:
                result["body"] = response.read(len(b"start;"))
                in_flight.set()  # the server has begun the answer; "end" comes 0.7 s later
                result["body"] += response.read()

        thread = threading.Thread(target=slow_request)
        thread.start()
        assert in_flight.wait(10)
        status, headers, body = fetch(server.url + "/boom", {"User-Agent": 'ua "q"'})
        assert status == 500 and b"kaboom" not in body and b"Traceback" not in body
        assert headers["X-Test"] == "yes"
        os.kill(int(pidfile.read_text()), signal.SIGTERM)
        thread.join(10)
        code, _, stderr = server.stop()
    assert result["body"] == b"start;end"  # the request in flight finished
    assert code == 0
    assert not pidfile.exists()
    assert "kaboom-secret" in stderr and "Traceback" in stderr  # the error log has it
    lines = logfile.read_text().splitlines()
    assert any('"GET /boom HTTP/1.1" 500 ' in line and line.endswith('"ua \\"q\\""')
               for line in lines), lines
    assert lines[0].startswith("127.0.0.1 - - [")


def test_display_tracebacks_shows_them(tmp_path):
    config = tmp_path / "site.py"
    config.write_text(SLOW_SITE)
    with running(["--config", str(config), "--listen", LOOPBACK, "--display-tracebacks"]) as s:
        status, _, body = fetch(s.url + "/boom")
    assert status == 500 and b"kaboom-secret" in body and b"Traceback" in body


def test_encode_gzip_compresses_the_whole_site(tmp_path):
    config = tmp_path / "site.py"
    config.write_text(
        "from plugserve.resource import Resource\n"
        "class Leaf(Resource):\n"
        "    isLeaf = True\n"
        "    def render_GET(self, request):\n"
        "        return b'x' * 5000\n"
        "root = Resource()\n"
        "branch = Resource()\n"
        "root.putChild(b'a', branch)\n"
        "branch.putChild(b'b', Leaf())\n"
    )
    with running(["--config", str(config), "--listen", LOOPBACK, "--encode", "gzip"]) as s:
        _, headers, body = fetch(s.url + "/a/b", {"Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] == "gzip" and len(body) < 200
        _, headers, body = fetch(s.url + "/a/b")
        assert "Content-Encoding" not in headers and body == b"x" * 5000


def test_limit_flags_reach_the_server(tmp_path):
    config = tmp_path / "site.py"
    config.write_text(SLOW_SITE)
    with running(["--config", str(config), "--listen", LOOPBACK, "--max-body", "1K",
                  "--max-headers", "5"]) as s:
        host, port = s.url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 2048\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 413 ")
        headers = "".join(f"X-{i}: v\r\n" for i in range(6))
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(f"GET / HTTP/1.1\r\nHost: a\r\n{headers}\r\n".encode())
            assert sock.recv(100).startswith(b"HTTP/1.1 431 ")


def test_quick_start_site_answers():
    with running(["--config", "examples/site.py", "--listen", LOOPBACK]) as server:
        status, _, body = fetch(server.url + "/")
        assert status == 200 and b"Hello from plugserve" in body
        assert fetch(server.url + "/echo?name=%3Cx%3E")[2] == b"<p>Hello, &lt;x&gt;!</p>"


def test_unix_listen_from_the_command_line(tmp_path):
    path = tmp_path / "s.sock"
    with running(["--config", "examples/site.py", "--listen", f"unix:{path}:mode=0600"]) as s:
        assert s.url == f"http+unix://{path}"
        assert oct(Path(path).stat().st_mode & 0o777) == "0o600"
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(path))
            sock.sendall(b"GET /visits HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")


def test_repo_root_is_where_commands_run():
    assert (REPO / "examples" / "site.py").exists()


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--max-connections", "0"), ("--max-headers", "-1"), ("--max-body", "ten"),
     ("--header-timeout", "0")],
)
def test_bad_limit_values_are_usage_errors(flag, value):
    result = plugserve_command("--config", "examples/site.py", flag, value)
    assert result.returncode == 2 and flag in result.stderr


def test_config_file_site_log_path_is_the_access_log(tmp_path):
    log = tmp_path / "site-access.log"
    config = tmp_path / "site.py"
    config.write_text(
        "from plugserve.resource import Resource\n"
        "from plugserve.server import Site\n"
        "class R(Resource):\n"
        "    isLeaf = True\n"
        "    def render_GET(self, request):\n"
        "        return b'ok'\n"
        f"site = Site(R(), logPath={str(log)!r})\n"
    )
    with running(["--config", str(config), "--listen", LOOPBACK]) as server:
        assert fetch(server.url + "/logged")[2] == b"ok"
        server.stop()
    assert '"GET /logged HTTP/1.1" 200 2' in log.read_text()


def test_config_file_site_wins_over_its_resource_and_keeps_its_log_path(tmp_path):
    # The guide's way of writing it: `resource` and `factory = Site(resource, ...)`.
    log = tmp_path / "factory-access.log"
    config = tmp_path / "factory.py"
    config.write_text(
        "from plugserve.resource import Resource\n"
        "from plugserve.server import Site\n"
        "class R(Resource):\n"
        "    isLeaf = True\n"
        "    def render_GET(self, request):\n"
        "        return b'ok'\n"
        "resource = R()\n"
        f"factory = Site(resource, logPath={str(log)!r})\n"
        "factory.add_header(b'x-from', b'the site')\n"
    )
    with running(["--config", str(config), "--listen", LOOPBACK]) as server:
        status, headers, body = fetch(server.url + "/via-factory")
        assert (status, body, headers["X-From"]) == (200, b"ok", "the site")
        server.stop()
    assert '"GET /via-factory HTTP/1.1" 200 2' in log.read_text()


def test_config_file_with_two_sites_must_name_one(tmp_path):
    config = tmp_path / "two.py"
    config.write_text("from plugserve.resource import Resource\n"
                      "from plugserve.server import Site\n"
                      "one = Site(Resource())\nother = Site(Resource())\nroot = Resource()\n")
    result = plugserve_command("--config", str(config))
    assert result.returncode == 2
    assert "defines several Sites (one, other); name the one to serve `site`" in result.stderr


def test_the_slow_client_flags_reach_the_config():
    from plugserve._plugins import make_plugin_manager
    from plugserve.cli import build_parser, config_from_args

    args = build_parser(make_plugin_manager()).parse_args([
        "--send-timeout", "7", "--min-body-rate", "0", "--min-body-rate-grace", "3",
        "--linger-timeout", "2", "--max-linger", "64K", "--max-chunk-line", "2K",
        "--max-empty-lines", "0",
    ])
    config = config_from_args(args)
    assert (config.send_timeout_s, config.min_body_rate_bytes_s, config.min_body_rate_grace_s,
            config.linger_timeout_s, config.max_linger_bytes, config.max_chunk_line_bytes,
            config.max_empty_lines) == (7.0, 0.0, 3.0, 2.0, 65536, 2048, 0)
    assert config.limits.max_empty_lines == 0 and config.limits.max_chunk_line_bytes == 2048


def test_empty_line_and_chunk_line_flags_reach_the_server():
    with running(["--config", "examples/site.py", "--listen", LOOPBACK,
                  "--max-empty-lines", "0", "--max-chunk-line", "10"]) as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        for data in (b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
                     b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5;abcdefghij\r\nhello\r\n0\r\n\r\n"):
            with socket.create_connection((host, int(port)), timeout=5) as sock:
                sock.sendall(data)
                assert sock.recv(100).startswith(b"HTTP/1.1 400 "), data


@pytest.mark.parametrize(("flag", "value"), [("--min-body-rate", "-1"), ("--send-timeout", "0"),
                                             ("--max-empty-lines", "x")])
def test_bad_slow_client_values_are_usage_errors(flag, value):
    result = plugserve_command("--config", "examples/site.py", flag, value)
    assert result.returncode == 2 and flag in result.stderr
