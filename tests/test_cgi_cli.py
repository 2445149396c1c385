"""plugserve-cgi from the command line, as users run it: `--cgi-dir` at its default prefix and at
one of its own beside `--path`, `--cgi-ext` and `--php` under `--path` (index.php included),
`--cgi-env` and `--cgi-timeout` taking effect, and every bad option refused at start-up in one
line that says what to write."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import LOOPBACK, plugserve_command, running
from tests.test_static_guide_examples import get

ENV_SCRIPT = f"""#!{sys.executable}
import os
print("Content-Type: text/plain")
print()
print(os.environ.get("SCRIPT_NAME"), os.environ.get("PATH_INFO"), os.environ.get("APP_MODE"),
      os.environ.get("HOME"))
"""

needs_php = pytest.mark.skipif(shutil.which("php-cgi") is None, reason="needs php-cgi")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """htdocs/ with a page, a .cgi script and PHP files, and cgi-bin/ with env.py and slow.sh."""
    htdocs, cgi_bin = tmp_path / "htdocs", tmp_path / "cgi-bin"
    (htdocs / "app").mkdir(parents=True)
    cgi_bin.mkdir()
    (htdocs / "page.html").write_text("<p>static</p>\n")
    (htdocs / "run.cgi").write_text(ENV_SCRIPT)
    (htdocs / "app" / "index.php").write_text('<?php echo "php index ", $_SERVER["SCRIPT_NAME"];')
    (htdocs / "hello.php").write_text('<?php echo "hello ", $_GET["name"] ?? "nobody";')
    (cgi_bin / "env.py").write_text(ENV_SCRIPT)
    (cgi_bin / "slow.sh").write_text("#!/bin/sh\nsleep 30\n")
    for script in (htdocs / "run.cgi", cgi_bin / "env.py", cgi_bin / "slow.sh"):
        script.chmod(0o755)
    return tmp_path


def test_cgi_dir_at_the_default_prefix_beside_path(site: Path) -> None:
    with running(["--path", str(site / "htdocs"), "--cgi-dir", str(site / "cgi-bin"),
                  "--listen", LOOPBACK]) as server:
        assert get(server.url, "/page.html").body == b"<p>static</p>\n"
        answer = get(server.url, "/cgi-bin/env.py/a/b")
        assert (answer.status, answer.body) == (200, b"/cgi-bin/env.py /a/b None None\n")
        assert get(server.url, "/cgi-bin/").status == 404


def test_cgi_dir_at_its_own_prefix_with_env_passed(site: Path) -> None:
    with running(["--cgi-dir", f"/scripts={site / 'cgi-bin'}", "--cgi-env", "APP_MODE=test",
                  "--cgi-env", "HOME", "--listen", LOOPBACK], env={"HOME": "/home/x"}) as server:
        answer = get(server.url, "/scripts/env.py")
        assert (answer.status, answer.body) == (200, b"/scripts/env.py None test /home/x\n")
        assert get(server.url, "/cgi-bin/env.py").status == 404


def test_cgi_ext_runs_scripts_under_path(site: Path) -> None:
    with running(["--path", str(site / "htdocs"), "--cgi-ext", ".cgi",
                  "--listen", LOOPBACK]) as server:
        answer = get(server.url, "/run.cgi/x")
        assert (answer.status, answer.body) == (200, b"/run.cgi /x None None\n")
    with running(["--path", str(site / "htdocs"), "--listen", LOOPBACK]) as server:
        assert get(server.url, "/run.cgi").body == ENV_SCRIPT.encode()  # off by default


def test_cgi_timeout_gives_504(site: Path) -> None:
    with running(["--cgi-dir", str(site / "cgi-bin"), "--cgi-timeout", "0.5",
                  "--listen", LOOPBACK]) as server:
        assert get(server.url, "/cgi-bin/slow.sh").status == 504
        _, _, err = server.stop()
    assert "slow.sh" in err and "Traceback" not in err


@needs_php
def test_php_under_path_with_index_php(site: Path) -> None:
    with running(["--path", str(site / "htdocs"), "--php", "--listen", LOOPBACK]) as server:
        index = get(server.url, "/app/")
        assert (index.status, index.body) == (200, b"php index /app/index.php")
        assert get(server.url, "/hello.php?name=ann").body == b"hello ann"
        assert get(server.url, "/page.html").body == b"<p>static</p>\n"


@pytest.mark.parametrize(("args", "message"), [
    (["--cgi-dir", "/nonexistent/dir"], "--cgi-dir /nonexistent/dir: /nonexistent/dir is not a "
     "directory; give --cgi-dir /cgi-bin=/path/to/scripts"),
    (["--path", ".", "--cgi-ext", "cgi"], "--cgi-ext cgi: give an extension with its dot"),
    (["--path", ".", "--cgi-ext", ".php", "--php"], "--cgi-ext .php and --php both claim"),
    (["--path", ".", "--php", "--php-cgi", "/nonexistent/php-cgi"],
     "--php: the php-cgi program '/nonexistent/php-cgi' is not found"),
    (["--cgi-dir", ".", "--cgi-timeout", "-1"], "--cgi-timeout -1.0: give 0 or more"),
    (["--cgi-dir", ".", "--cgi-env", "A-B"], "--cgi-env A-B: give NAME or NAME=VALUE"),
    (["--cgi-dir", ".", "--cgi-spool-max", "lots"], "--cgi-spool-max"),
])
def test_bad_options_are_one_line_usage_errors(args: list[str], message: str) -> None:
    result = plugserve_command(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@needs_php
def test_the_docs_example_site_runs_php_perl_and_sh() -> None:
    """docs/cgi.md's example, served as the page says: from the checkout's root."""
    with running(["--config", "docs/examples/cgi_site.py", "--listen", LOOPBACK]) as server:
        assert b"CGI example" in get(server.url, "/").body
        assert get(server.url, "/hello.php?name=you").body == b"Hello from PHP, you\n"
        assert get(server.url, "/hello.pl?name=you").body == b"Hello from Perl, you\n"
        sh = get(server.url, "/cgi-bin/hello.sh/extra?name=you")
        assert sh.body == b"Hello from sh: PATH_INFO=/extra QUERY_STRING=name=you\n"
        assert get(server.url, "/hello.php").header("Content-Type") == "text/plain;charset=UTF-8"
