"""`plugserve --wsgi SPEC` run as users run it: a subprocess started in a project folder."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from wsgi_support import LOOPBACK, Command, fetch, run_command

APPS = Path(__file__).resolve().parent / "apps"

HELLO = '''\
import threading
from wsgiref.validate import validator


@validator
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello from %s in %s" % (environ["PATH_INFO"].encode(),
                                       threading.current_thread().name.encode())]


def create_app(greeting="factory"):
    def made(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [greeting.encode()]
    return validator(made)


not_callable = 42


def broken_factory():
    raise ValueError("no config")
'''

RAISE_LINE = HELLO.splitlines().index('    raise ValueError("no config")') + 1


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder: myapp.py, and a package web/ with web/wsgi.py."""
    (tmp_path / "myapp.py").write_text(HELLO)
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "__init__.py").write_text("")
    (tmp_path / "web" / "wsgi.py").write_text(HELLO.replace("app(", "application(", 1))
    (tmp_path / "fails.py").write_text("import os\nraise RuntimeError('broken module')\n")
    (tmp_path / "needs.py").write_text("import no_such_dependency_xyz\napp = None\n")
    return tmp_path


@pytest.mark.parametrize(("spec", "body"), [
    ("myapp:app", b"hello from /x in plugserve-wsgi"),
    ("myapp.app", b"hello from /x in plugserve-wsgi"),
    ("web.wsgi:application", b"hello from /x in plugserve-wsgi"),
    ("web.wsgi.application", b"hello from /x in plugserve-wsgi"),
    ("myapp:create_app()", b"factory"),
    ("myapp:create_app('made by a factory')", b"made by a factory"),
    ("myapp:create_app(greeting='keywords')", b"keywords"),
])
def test_serves_from_the_project_folder(project: Path, spec: str, body: bytes) -> None:
    with Command(["--wsgi", spec, "--listen", LOOPBACK, "--wsgi-threads", "3"],
                 cwd=str(project)) as command:
        reply = fetch(command, "GET", "/x")
        assert reply.status == 200
        assert reply.body.startswith(body)
        status, err = command.stop()
    assert status == 0, err


@pytest.mark.parametrize(("args", "message"), [
    (["--wsgi", "nosuchmodule:app"], "--wsgi nosuchmodule:app: no module named 'nosuchmodule'"),
    (["--wsgi", "nosuchmodule.app"], "--wsgi nosuchmodule.app: no module named 'nosuchmodule'"),
    (["--wsgi", "myapp:nope"], "--wsgi myapp:nope: myapp has no attribute 'nope'"),
    (["--wsgi", "web.wsgi:nope"], "web.wsgi has no attribute 'nope'"),
    (["--wsgi", "myapp:not_callable"], "not_callable is not callable (it is int)"),
    (["--wsgi", "myapp"], "name the application inside the module"),
    (["--wsgi", "myapp:app("], "give MODULE:NAME, MODULE.NAME or MODULE:FACTORY()"),
    (["--wsgi", ":app"], "give MODULE:NAME"),
    (["--wsgi", "myapp:create_app(x)"], "a factory's arguments must be literals"),
    (["--wsgi", "myapp:broken_factory()"], f"calling the factory raised (myapp.py, line "
                                           f"{RAISE_LINE}) ValueError: no config"),
    (["--wsgi", "fails:app"], "importing fails raised (fails.py, line 2) RuntimeError: "
                              "broken module"),
    (["--wsgi", "needs:app"], "importing needs failed: No module named 'no_such_dependency_xyz'"),
    (["--wsgi-threads", "4", "--wsgi", ""], "give MODULE:NAME"),
    (["--wsgi-threads", "4"], "--wsgi-threads needs --wsgi"),
    (["--wsgi", "myapp:app", "--wsgi-threads", "0"], "must be a whole number above 0"),
])
def test_bad_specs_are_usage_errors(project: Path, args: list[str], message: str) -> None:
    status, err = run_command([*args, "--listen", LOOPBACK], cwd=str(project))
    assert status == 2, err
    assert message in err, err
    assert "Traceback" not in err


def test_flask_factory_from_its_folder() -> None:
    pytest.importorskip("flask")
    with Command(["--wsgi", "wsgi_flask_app:create_validated_app('from the command line')",
                  "--listen", LOOPBACK], cwd=str(APPS)) as command:
        assert fetch(command, "GET", "/").body == b"Hello from from the command line"
        assert fetch(command, "GET", "/users/9").json() == {"id": 9, "q": None}
        status, err = command.stop()
    assert status == 0, err


def test_django_project_from_its_folder() -> None:
    pytest.importorskip("django")
    with Command(["--wsgi", "wsgi_django_site.wsgi:validated_application", "--listen", LOOPBACK],
                 cwd=str(APPS)) as command:
        assert fetch(command, "GET", "/").body == b"Hello from Django"
        status, err = command.stop()
    assert status == 0, err


def test_help_and_plugin_list(project: Path) -> None:
    status, _ = run_command(["--help"], cwd=str(project))
    assert status == 0
    done = subprocess.run([sys.executable, "-m", "plugserve", "--help"], cwd=project,
                          capture_output=True, text=True, timeout=30)
    assert "--wsgi [/PREFIX=]MODULE:APP" in done.stdout and "--wsgi-threads N" in done.stdout
    listed = subprocess.run([sys.executable, "-m", "plugserve", "plugins"], cwd=project,
                            capture_output=True, text=True, timeout=30)
    line = next(x for x in listed.stdout.splitlines() if x.startswith("wsgi "))
    assert "plugserve-wsgi" in line and "loaded" in line


def test_sigterm_while_a_request_runs(project: Path) -> None:
    """A request still in the application when the server is told to stop does not keep the
    process alive past the shutdown."""
    (project / "slow.py").write_text(textwrap.dedent('''\
        import time
        from wsgiref.validate import validator

        @validator
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            for i in range(100):
                time.sleep(0.05)
                yield b"%d " % i
    '''))
    with Command(["--wsgi", "slow:app", "--listen", LOOPBACK, "--shutdown-timeout", "1"],
                 cwd=str(project)) as command:
        import socket

        with socket.create_connection((command.host, command.port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
            command.process.send_signal(signal.SIGTERM)
            status, err = command.stop()
    assert status == 0, err
