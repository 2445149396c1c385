"""The `--resource-script` option: its checks at start-up and the resources it describes.

`--resource-script FILE.rpy` serves the script as the whole site, `--resource-script
/PREFIX=FILE.rpy` under a prefix (through `plugserve_mounts`); the option repeats, with at
most one root.  A value that names an existing file is always a file, even with a `=` in it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from plugserve.config import Config
from plugserve.error import UsageError
from plugserve.mounts import split_prefixed

from ._code import load_code
from ._wrapper import ResourceScriptWrapper

__all__ = ["add_options", "check_options", "make_root", "mounts"]


def add_options(group: argparse._ArgumentGroup) -> None:
    """Add --resource-script."""
    group.add_argument("--resource-script", action="append", metavar="[/PREFIX=]FILE.rpy",
                       help="serve the resource this script sets, running the script again "
                       "for every request: as the whole site, or under /PREFIX with "
                       "/PREFIX=FILE.rpy (repeatable, one root at most)")


def _entries(config: Config) -> list[tuple[str | None, str]]:
    """(prefix or None for the root, path) of every --resource-script; UsageError for two
    roots or a prefix given twice."""
    value = config.option("resource_script")
    values: Sequence[str] = () if value is None else [value] if isinstance(value, str) else value
    entries: dict[str | None, str] = {}
    for text in values:
        prefix, path = (None, text) if os.path.isfile(text) else split_prefixed(
            text, "--resource-script")
        if prefix in entries:
            where = f"under {prefix}" if prefix else "as the whole site (no /PREFIX=)"
            raise UsageError(f"--resource-script {text}: --resource-script {entries[prefix]} "
                             f"is served {where} already; give each script its own /PREFIX=")
        entries[prefix] = path
    return list(entries.items())


def check_options(config: Config) -> None:
    """UsageError for a --resource-script that cannot be run, or a root one given with --path."""
    for prefix, path in _entries(config):
        option = f"--resource-script {path}" if prefix is None else \
            f"--resource-script {prefix}={path}"
        if prefix is None and config.option("path") is not None:
            raise UsageError(f"{option}: --path also names a root; give only one of them, or "
                             "mount the script with --resource-script /PREFIX=FILE.rpy")
        _check_script(option, path)


def _check_script(option: str, path: str) -> None:
    if not os.path.isfile(path):
        what = "is a directory" if os.path.isdir(path) else "no such file"
        raise UsageError(f"{option}: {what}; give an existing .rpy file")
    try:
        load_code(os.path.abspath(path))
    except OSError as exc:
        raise UsageError(f"{option}: cannot read it: {exc.strerror or exc}") from None
    except SyntaxError as exc:
        where = f", line {exc.lineno}" if exc.lineno else ""
        raise UsageError(f"{option}{where}: SyntaxError: {exc.msg}; fix the script") from None
    except ValueError as exc:  # a NUL byte, before Python 3.11.x
        raise UsageError(f"{option}: {exc}; fix the script") from None


def make_root(config: Config) -> ResourceScriptWrapper | None:
    """The wrapper running --resource-script FILE for every request; None without one."""
    for prefix, path in _entries(config):
        if prefix is None:
            return ResourceScriptWrapper(path)
    return None


def mounts(config: Config) -> dict[str, ResourceScriptWrapper]:
    """A wrapper for every --resource-script /PREFIX=FILE."""
    return {prefix: ResourceScriptWrapper(path)
            for prefix, path in _entries(config) if prefix is not None}
