"""Docs are part of the feature: every hook documented with its exact signature, every code
example a file that runs, and the README's test command is what CI runs."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from plugserve import hookspecs

from tests.cli_helpers import LOOPBACK, REPO, running

DOCS = REPO / "docs"
BLOCK_RE = re.compile(r"```python\n# (docs/examples/[\w./-]+\.py)\n(.*?)```", re.S)


def hook_signatures() -> dict[str, str]:
    """`name(args) -> ret` for every hook, as written in hookspecs.py."""
    source = Path(hookspecs.__file__).read_text()
    found = {}
    for name, _function in inspect.getmembers(hookspecs, inspect.isfunction):
        if not name.startswith("plugserve_"):
            continue
        match = re.search(rf"def ({name}\(.*?\) -> .*?):\n", source, re.S)
        assert match, name
        found[name] = " ".join(match.group(1).split())
    return found


def test_every_hook_is_in_the_plugin_guide_with_its_signature():
    guide = " ".join((DOCS / "writing-plugins.md").read_text().split())
    for _name, signature in hook_signatures().items():
        assert signature in guide, f"docs/writing-plugins.md lacks `{signature}`"


def doc_blocks() -> list[tuple[Path, str, str]]:
    blocks = []
    for page in [*sorted(DOCS.glob("*.md")), REPO / "README.md"]:
        for match in BLOCK_RE.finditer(page.read_text()):
            blocks.append((page, match.group(1), f"# {match.group(1)}\n{match.group(2)}"))
    return blocks


@pytest.mark.parametrize(("page", "path", "text"), doc_blocks(),
                         ids=lambda v: str(v)[:40] if isinstance(v, str) else None)
def test_code_blocks_are_the_example_files(page, path, text):
    assert (REPO / path).read_text() == text, f"{page.name}: block differs from {path}"


@pytest.mark.parametrize("path", sorted((DOCS / "examples").glob("test_*.py")),
                         ids=lambda p: p.name)
def test_doc_example_tests_pass(path):
    """The plugin guide's own tests (the plugserve_server fixture, the raw client) pass as
    written, run by pytest as a plugin author would run them."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def example_files() -> list[Path]:
    return sorted((DOCS / "examples").glob("*.py"))


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_doc_example_serves(path):
    source = path.read_text()
    if any(word in source for word in ("root", "site", "listen", "factory")):
        args = ["--config", str(path), "--listen", LOOPBACK]
    else:
        pytest.skip("not a config file")
    with running(args) as server, urllib.request.urlopen(server.url + "/", timeout=10) as r:
        assert r.status < 500
    compile(source, str(path), "exec")


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    assert len(commands) >= 2
    test_command = commands[1].strip()
    assert "pytest" in test_command
    assert test_command in (REPO / ".ci" / "run").read_text()


def test_readme_quick_start_serves_the_example_site():
    readme = (REPO / "README.md").read_text()
    serve_command = re.findall(r"```sh\n(.*?)\n```", readme, re.S)[0]
    assert serve_command.endswith("plugserve --config examples/site.py")
    assert subprocess.run([sys.executable, "-m", "plugserve", "--config", "examples/site.py",
                           "--help"], cwd=REPO, capture_output=True).returncode == 0
