"""The `--resource-script` option: its check at start-up and the root it describes."""

from __future__ import annotations

import argparse
import os

from plugserve.config import Config
from plugserve.error import UsageError

from ._code import load_code
from ._wrapper import ResourceScriptWrapper

__all__ = ["add_options", "check_options", "make_root"]


def add_options(group: argparse._ArgumentGroup) -> None:
    """Add --resource-script."""
    group.add_argument("--resource-script", metavar="FILE.rpy",
                       help="serve the resource this script sets as the whole site, running "
                       "the script again for every request")


def check_options(config: Config) -> None:
    """UsageError for a --resource-script that cannot be run, or one given with --path."""
    path = config.option("resource_script")
    if path is None:
        return
    option = f"--resource-script {path}"
    if config.option("path") is not None:
        raise UsageError(f"{option}: --path also names a root; give only one of them")
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
    """The wrapper running --resource-script for every request; None without the option."""
    path = config.option("resource_script")
    return ResourceScriptWrapper(path) if path is not None else None
