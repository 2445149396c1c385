"""The hooks of plugserve-cgi: each delegates to `_options`."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

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
def plugserve_mounts(config: Config) -> Mapping[str, IResource]:
    return _options.mounts(config)


@hookimpl
def plugserve_processors(config: Config) -> Mapping[str, Any]:
    return _options.processors(config)


@hookimpl
def plugserve_index_names(config: Config) -> Sequence[str]:
    return _options.index_names(config)
