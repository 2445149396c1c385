# docs/examples/folders_plugin.py
"""A one-file plugin that mounts folders under prefixes, each served as --path would serve it.

It asks `plugserve_directory_resource` for each folder (plugserve-static answers), so the
folders get the installed processors (.rpy with plugserve-rpy) and every static option given on
the command line, without importing plugserve-static. Beside it, other plugins mount their own:

    plugserve --plugin docs.examples.folders_plugin --folder /guide=docs \\
        --path examples --resource-script /hello=docs/examples/rpy_hello.rpy
    curl localhost:8080/guide/cli.md      # docs/cli.md
    curl localhost:8080/hello             # the script's resource
    curl localhost:8080/guide/examples/rpy_hello.rpy    # the same, run from the folder
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

from plugserve import hookimpl
from plugserve.config import Config
from plugserve.error import UsageError
from plugserve.mounts import split_prefixed
from plugserve.resource import IResource


def _folders(config: Config) -> list[tuple[str, str]]:
    """(prefix, folder) of every --folder /PREFIX=DIR."""
    folders = []
    for text in config.option("folder") or ():
        prefix, folder = split_prefixed(text, "--folder")
        if prefix is None:
            raise UsageError(f"--folder {text}: give /PREFIX=DIR, e.g. --folder /guide=docs")
        folders.append((prefix, folder))
    return folders


@hookimpl
def plugserve_add_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--folder", action="append", metavar="/PREFIX=DIR",
                       help="serve DIR under /PREFIX, as --path serves a folder (repeatable)")


@hookimpl
def plugserve_configure(config: Config) -> None:
    for prefix, folder in _folders(config):
        if not os.path.isdir(folder):
            raise UsageError(f"--folder {prefix}={folder}: no such directory; give an "
                             "existing one")


@hookimpl
def plugserve_mounts(config: Config) -> Mapping[str, IResource]:
    mounts = {}
    for prefix, folder in _folders(config):
        resource = config.directory_resource(folder)
        if resource is None:
            raise UsageError(f"--folder {prefix}={folder}: no plugin serves folders; install "
                             "plugserve-static (from a checkout: pip install ./plugins/static)")
        mounts[prefix] = resource
    return mounts
