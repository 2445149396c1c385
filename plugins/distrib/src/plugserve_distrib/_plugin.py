"""The hooks of plugserve-distrib: each delegates to `_options` or `_front`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from plugserve import hookimpl
from plugserve.config import Config
from plugserve.resource import IResource
from plugserve.server import Request

from . import _front, _options, _settings


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
def plugserve_default_listen(config: Config) -> Sequence[str] | None:
    return _options.default_listen(config)


@hookimpl
def plugserve_request_started(request: Request) -> None:
    # A personal server believes the front server, on UNIX sockets only.
    if _settings.current().personal or getattr(request.site, "trusts_front", False):
        _front.apply_front(request)
