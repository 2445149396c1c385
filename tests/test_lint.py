"""Static checks are part of the suite: ruff everywhere, mypy strict for the core and the
plugins, and mypy over every test folder and the example plugin."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.cli_helpers import REPO


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or f"{sys.prefix}/bin/ruff"
    result = subprocess.run([ruff, "check", "--no-cache", "."], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_core_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", "/dev/null"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


#: Test folders outside the `tests` package: pytest imports their modules top-level (conftest,
#: static_data, wsgi_support), so each is checked on its own, with itself on MYPYPATH.
OTHER_TESTS = ["plugins/static/tests", "plugins/rpy/tests", "plugins/wsgi/tests",
               "plugins/proxy/tests", "examples/plugin/tests"]


@pytest.mark.parametrize("folder", [*OTHER_TESTS, "examples/plugin/src"])
def test_mypy_checks_plugin_tests_and_the_example_plugin(folder: str) -> None:
    """The same settings as the `tests.*` override of pyproject.toml: bodies are checked,
    test functions need no annotations; the example plugin's own code is strict."""
    relaxed = ["--allow-untyped-defs", "--allow-incomplete-defs", "--allow-untyped-calls",
               "--check-untyped-defs"] if folder in OTHER_TESTS else []
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", "/dev/null",
         *relaxed, folder],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "MYPYPATH": folder},
    )
    assert result.returncode == 0, result.stdout + result.stderr
