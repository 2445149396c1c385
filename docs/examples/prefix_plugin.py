# docs/examples/prefix_plugin.py
"""A one-file plugin: strip a URL prefix before traversal, and count responses by status.

Load it by its dotted module path (plugserve puts the current directory on the import path);
serving this same file with --config gives the plugin a page to work on:

    plugserve --plugin docs.examples.prefix_plugin --strip-prefix app \\
        --config docs/examples/prefix_plugin.py
    curl localhost:8080/app/a/b          # served as /a/b

At shutdown (Ctrl-C) it prints the counts on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence

from plugserve import hookimpl
from plugserve.config import Config
from plugserve.error import UsageError
from plugserve.resource import Resource
from plugserve.server import Request

_prefix: list[bytes] = []
_counts: Counter[int] = Counter()


@hookimpl
def plugserve_add_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--strip-prefix", metavar="PATH", help="serve /PATH/x as /x")


@hookimpl
def plugserve_configure(config: Config) -> None:
    prefix = config.option("strip_prefix") or ""
    if "%" in prefix:
        raise UsageError("--strip-prefix: give the path decoded, without %-escapes")
    _prefix[:] = [part.encode("utf-8") for part in prefix.split("/") if part]


@hookimpl
def plugserve_rewrite_rules(config: Config) -> Sequence[Callable[[Request], None]]:
    return [_strip_prefix] if _prefix else []


def _strip_prefix(request: Request) -> None:
    n = len(_prefix)
    if request.postpath[:n] == _prefix:
        del request.postpath[:n]
        if not request.postpath:
            request.postpath.append(b"")  # "/app" is served as "/"


@hookimpl
def plugserve_request_finished(request: Request) -> None:
    _counts[request.code] += 1


@hookimpl
def plugserve_unconfigure(config: Config) -> None:
    if _counts:
        print("responses by status:", dict(sorted(_counts.items())), file=sys.stderr)


class ShowPath(Resource):
    """What `--config` serves from this file: the path that traversal was given."""

    isLeaf = True

    def render_GET(self, request: Request) -> bytes:
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"/" + b"/".join(request.postpath) + b"\n"


root = ShowPath()
