"""Each distribution installs on its own with plain pip, in a fresh virtual environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.cli_helpers import REPO


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_core_alone_then_a_third_party_plugin(tmp_path: Path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([*pip, str(REPO / "core")], check=True, env=env, timeout=300)

    plugserve = str(bin_dir / "plugserve")
    result = subprocess.run([plugserve, "--version"], capture_output=True, text=True, env=env,
                            cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("plugserve ")
    result = subprocess.run([plugserve], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 2 and "pip install ./plugins/static" in result.stderr
    assert "pip install plugserve-" not in result.stderr  # no package index has these names
    # An option of a plugin that is not installed names the distribution and the checkout path.
    for args, hint in ((["--path", str(tmp_path)], "--path needs the static plugin (distribution "
                        "plugserve-static), which is not installed: from a plugserve checkout, "
                        "pip install ./plugins/static"),
                       (["--index=a.html"], "--index needs the static plugin"),
                       (["--wsgi", "app:app"], "pip install ./plugins/wsgi"),
                       (["--resource-script", "x.rpy"],
                        "pip install ./plugins/static ./plugins/rpy"),
                       (["--plugin", "static"], "--plugin static: the static plugin is not "
                        "installed (distribution plugserve-static)"),
                       (["--plugin", "json"], "implements no plugserve hook")):
        result = subprocess.run([plugserve, *args], capture_output=True, text=True, env=env,
                                cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert hint in result.stderr, (args, result.stderr)
        assert "unrecognized arguments" not in result.stderr and "Traceback" not in result.stderr
    assert json.loads(subprocess.run([plugserve, "plugins", "--json"], capture_output=True,
                                     text=True, env=env, check=True).stdout) == []

    subprocess.run([*pip, str(REPO / "examples" / "plugin"), "pytest", "pytest-timeout"],
                   check=True, env=env, timeout=300)
    records = json.loads(subprocess.run([plugserve, "plugins", "--json"], capture_output=True,
                                        text=True, env=env, check=True).stdout)
    assert [(r["name"], r["status"]) for r in records] == [("example", "loaded")]
    tests = subprocess.run(
        [str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(REPO / "examples" / "plugin" / "tests")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert sys.executable  # the suite's own interpreter is untouched
