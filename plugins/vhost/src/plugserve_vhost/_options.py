"""The command-line options of plugserve-vhost, their checks, and the root they make."""

from __future__ import annotations

import argparse
import ipaddress
import os

from plugserve.config import Config
from plugserve.error import UsageError
from plugserve.resource import IResource

from . import _forwarded
from ._folders import VHostFolders
from ._hosts import NameVirtualHost
from ._names import name_key

__all__ = ["add_options", "check_options", "make_root"]

DEFAULT_REFRESH = 2.0


def add_options(group: argparse._ArgumentGroup) -> None:
    """Add --vhost, --vhost-default, --vhost-dir, --vhost-dir-refresh and --trust-forwarded."""
    group.add_argument("--vhost", action="append", default=[], metavar="NAME=DIR",
                       help="serve folder DIR (as --path would) for requests to host NAME "
                            "(repeatable)")
    group.add_argument("--vhost-default", metavar="DIR",
                       help="serve DIR for names that no --vhost names (default: --path if "
                            "given, else 404)")
    group.add_argument("--vhost-dir", metavar="DIR",
                       help="serve every subfolder of DIR as the host of its name; folders "
                            "added later are served without a restart")
    group.add_argument("--vhost-dir-refresh", type=float, metavar="SECONDS",
                       default=DEFAULT_REFRESH,
                       help="list --vhost-dir at most this often "
                            f"(default {DEFAULT_REFRESH:g})")
    group.add_argument("--trust-forwarded", action="append", default=[], metavar="CIDR",
                       help="believe Forwarded and X-Forwarded-For/-Host/-Proto/-Port from "
                            "front proxies in this range (repeatable)")


def _folder(path: str, flag: str) -> str:
    if not os.path.isdir(path):
        raise UsageError(f"{flag} {path}: no such directory; give an existing one")
    return path


def _hosts(config: Config) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    seen: dict[bytes, str] = {}
    for item in config.option("vhost") or ():
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--vhost {item}: give NAME=DIR, e.g. --vhost example.com=/srv/www")
        try:
            key = name_key(name)
        except ValueError as exc:
            raise UsageError(f"--vhost {item}: {exc}") from None
        if key in seen:
            raise UsageError(f"--vhost {item}: {name!r} is the same host as {seen[key]!r}, "
                             "named twice; give each host one --vhost")
        seen[key] = name
        found.append((name, _folder(path, f"--vhost {name}=")))
    return found


def check_options(config: Config) -> None:
    """UsageError for a malformed option; else --trust-forwarded takes effect."""
    _hosts(config)
    for flag in ("vhost_default", "vhost_dir"):
        if config.option(flag) is not None:
            _folder(config.option(flag), "--" + flag.replace("_", "-"))
    refresh = config.option("vhost_dir_refresh")
    if refresh is not None and refresh < 0:
        raise UsageError("--vhost-dir-refresh: give a number of seconds, 0 or more")
    try:
        networks = [ipaddress.ip_network(value, strict=False)
                    for value in config.option("trust_forwarded") or ()]
    except ValueError as exc:
        raise UsageError(f"--trust-forwarded: {exc} (give a CIDR such as 10.0.0.0/8 "
                         "or 127.0.0.1)") from None
    _forwarded.use(networks)


def make_root(config: Config) -> IResource | None:
    """A NameVirtualHost for --vhost, --vhost-dir or --vhost-default; else None."""
    hosts = _hosts(config)
    folder = config.option("vhost_dir")
    default = config.option("vhost_default") or config.option("path")
    if not hosts and folder is None and config.option("vhost_default") is None:
        return None

    def serve(path: str) -> IResource:
        resource = config.directory_resource(path)
        if resource is None:
            raise UsageError("--vhost serves folders through plugserve-static; install it "
                             "from the checkout: pip install ./plugins/static")
        return resource

    root = (VHostFolders(folder, serve, config.option("vhost_dir_refresh", DEFAULT_REFRESH))
            if folder is not None else NameVirtualHost())
    for name, path in hosts:
        root.addHost(name, serve(path))
    if default is not None:
        root.default = serve(default)
    return root
