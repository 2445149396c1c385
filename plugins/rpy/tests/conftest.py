"""Fixtures of the rpy tests: a served tree of real files, and an editor that makes every edit
visible by moving the file's modification time forward (no sleeping for the clock to tick)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from plugserve.testing import TestServer
from plugserve_rpy import ResourceScript
from plugserve_static import File

Write = Callable[[Path, str], Path]


def _write(path: Path, source: str) -> Path:
    """Write `source` (dedented) to `path`; if the file existed, its mtime moves on by 1 s."""
    before = path.stat().st_mtime_ns if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    if before is not None:
        later = max(before, path.stat().st_mtime_ns) + 1_000_000_000
        os.utime(path, ns=(later, later))
    return path


@pytest.fixture
def write() -> Write:
    """write(path, source) -> path: create or edit a file so that the change is seen."""
    return _write


@pytest.fixture
def www(tmp_path: Path) -> Path:
    """An empty served folder (tmp_path/www), beside a secret that must never be reached."""
    (tmp_path / "secret.txt").write_text("TOP-SECRET\n")
    root = tmp_path / "www"
    root.mkdir()
    return root


@pytest.fixture
def serve_tree(plugserve_server: Callable[..., TestServer],
               www: Path) -> Callable[..., TestServer]:
    """serve_tree(**config) -> a server for `www` as a File with the .rpy processor."""

    def start(**settings: Any) -> TestServer:
        root = File(str(www))
        root.processors = {".rpy": ResourceScript}
        return plugserve_server(root, **settings)

    return start
