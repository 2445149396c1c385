"""Hook implementations: each a few lines delegating to the real modules."""

from __future__ import annotations

import argparse

from plugserve import hookimpl
from plugserve.config import Config
from plugserve.error import UsageError
from plugserve.resource import IResource
from plugserve.server import Request

from .resources import Greeting, Health

_HEALTH = Health()
_served_by: bytes | None = None


@hookimpl
def plugserve_add_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--hello", metavar="TEXT", help="serve a page that says TEXT")
    group.add_argument("--served-by", metavar="NAME", help="add 'X-Served-By: NAME' to responses")


@hookimpl
def plugserve_configure(config: Config) -> None:
    global _served_by
    served_by = config.option("served_by")
    if served_by is not None and not served_by.isprintable():
        raise UsageError("--served-by: the name must be printable text")
    _served_by = served_by.encode("utf-8") if served_by else None


@hookimpl
def plugserve_make_root(config: Config) -> IResource | None:
    text = config.option("hello")
    return Greeting(text) if text else None


@hookimpl
def plugserve_get_child(resource: IResource, name: bytes, request: Request) -> IResource | None:
    if name == b"_health" and len(request.prepath) == 1:
        return _HEALTH
    return None


@hookimpl
def plugserve_request_started(request: Request) -> None:
    if _served_by is not None:
        request.setHeader(b"x-served-by", _served_by)
