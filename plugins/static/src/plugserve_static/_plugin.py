"""The hooks of plugserve-static: each delegates to `_options`."""

from __future__ import annotations

import argparse

from plugserve import hookimpl
from plugserve.config import Config
from plugserve.resource import IResource

from . import _options


@hookimpl
def plugserve_add_options(group: argparse._ArgumentGroup) -> None:
    _options.add_options(group)


@hookimpl
def plugserve_configure(config: Config) -> None:
    _options.check_options(config)


@hookimpl
def plugserve_make_root(config: Config) -> IResource | None:
    return _options.make_root(config)


@hookimpl
def plugserve_directory_resource(path: str, config: Config,
                                 contained: bool) -> IResource | None:
    return _options.directory_resource(path, config, contained=contained)
