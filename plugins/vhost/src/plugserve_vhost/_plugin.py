"""The hooks of plugserve-vhost: each delegates to `_options` or `_forwarded`."""

from __future__ import annotations

import argparse

from plugserve import hookimpl
from plugserve.config import Config
from plugserve.resource import IResource
from plugserve.server import Request

from . import _forwarded, _options


@hookimpl
def plugserve_add_options(group: argparse._ArgumentGroup) -> None:
    _options.add_options(group)


@hookimpl
def plugserve_configure(config: Config) -> None:
    _options.check_options(config)


@hookimpl(tryfirst=True)
def plugserve_make_root(config: Config) -> IResource | None:
    # Before plugserve-static's: with --vhost, a --path is the default host, not the root.
    return _options.make_root(config)


@hookimpl
def plugserve_request_started(request: Request) -> None:
    # One check per request when --trust-forwarded is not given.
    if _forwarded._trusted:
        _forwarded.apply_forwarded(request)
