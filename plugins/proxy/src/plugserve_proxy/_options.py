"""The command-line options of plugserve-proxy, their checks, and the resources they make."""

from __future__ import annotations

import argparse
import ipaddress

from plugserve.client import Upstream
from plugserve.config import Config
from plugserve.error import UsageError
from plugserve.resource import IResource

from . import _settings
from ._forward import ForwardProxyResource
from ._reverse import ReverseProxyResource

__all__ = ["add_options", "check_options", "make_root", "mounts"]

_DEFAULTS = _settings.ProxySettings()


def add_options(group: argparse._ArgumentGroup) -> None:
    """Add --reverse-proxy and the --proxy-* options."""
    group.add_argument("--reverse-proxy", action="append", default=[], metavar="[/PREFIX=]URL",
                       help="serve the upstream URL (http://host:port/path or "
                            "unix:/path.sock:/path) as the root, or under /PREFIX (repeatable)")
    group.add_argument("--proxy-connect-timeout", type=float, metavar="SECONDS",
                       default=_DEFAULTS.connect_timeout,
                       help="seconds to connect to an upstream before a 504 "
                            f"(default {_DEFAULTS.connect_timeout:g})")
    group.add_argument("--proxy-timeout", type=float, metavar="SECONDS",
                       default=_DEFAULTS.timeout,
                       help="seconds to wait for the upstream's response head, and for each "
                            f"piece of its body (default {_DEFAULTS.timeout:g})")
    group.add_argument("--proxy-pool-size", type=int, metavar="N", default=_DEFAULTS.pool_size,
                       help="idle keep-alive connections kept per upstream "
                            f"(default {_DEFAULTS.pool_size}; 0 keeps none)")
    group.add_argument("--proxy-idle-timeout", type=float, metavar="SECONDS",
                       default=_DEFAULTS.idle_timeout,
                       help="close an idle upstream connection after this long "
                            f"(default {_DEFAULTS.idle_timeout:g})")
    group.add_argument("--proxy-allow-client", action="append", default=[], metavar="CIDR",
                       help="let these clients use the forward proxy besides loopback "
                            "(repeatable); internal destinations are then refused")
    group.add_argument("--proxy-allow-destination", action="append", default=[],
                       metavar="CIDR",
                       help="internal destinations the forward proxy may still reach once "
                            "--proxy-allow-client is given (repeatable)")
    group.add_argument("--proxy-connect-ports", action="append", default=[], metavar="PORTS",
                       help="ports CONNECT may tunnel to, comma-separated (repeatable; "
                            "default 443)")
    group.add_argument("--no-forwarded-headers", action="store_true",
                       help="do not add X-Forwarded-For/-Host/-Proto and Forwarded upstream")


def _networks(values: list[str], flag: str) -> tuple[ipaddress.IPv4Network |
                                                      ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(v, strict=False) for v in values)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc} (give a CIDR such as 10.0.0.0/8)") from None


def _ports(values: list[str]) -> frozenset[int]:
    ports: set[int] = set()
    for value in values:
        for item in value.split(","):
            if not item.strip().isdigit() or not 0 < int(item) < 65536:
                raise UsageError(f"--proxy-connect-ports {value}: give port numbers, "
                                 "e.g. 443,8443")
            ports.add(int(item))
    return frozenset(ports) if ports else _DEFAULTS.connect_ports


def _reverse(config: Config) -> list[tuple[str, Upstream]]:
    found = []
    for item in config.option("reverse_proxy") or ():
        prefix, sep, url = item.partition("=")
        if not sep or not prefix.startswith("/"):
            prefix, url = "", item
        try:
            found.append((prefix.rstrip("/"), Upstream.parse(url)))
        except ValueError as exc:
            raise UsageError(f"--reverse-proxy {exc}") from None
    return found


def check_options(config: Config) -> None:
    """UsageError for a malformed option; else the settings take effect."""
    for flag in ("proxy_connect_timeout", "proxy_timeout", "proxy_idle_timeout"):
        value = config.option(flag)
        if value is not None and value <= 0:
            raise UsageError(f"--{flag.replace('_', '-')}: give a number of seconds above 0")
    if (config.option("proxy_pool_size") or 0) < 0:
        raise UsageError("--proxy-pool-size: give 0 or more")
    roots = [u for p, u in _reverse(config) if not p]
    if len(roots) > 1:
        raise UsageError("--reverse-proxy: only one URL may be the root; give the others "
                         "a /PREFIX=")
    if config.option("proxy_connect_timeout") is None:
        return  # the options were not parsed (a config built in a test)
    _settings.use(_settings.ProxySettings(
        connect_timeout=config.option("proxy_connect_timeout"),
        timeout=config.option("proxy_timeout"),
        pool_size=config.option("proxy_pool_size"),
        idle_timeout=config.option("proxy_idle_timeout"),
        allow_clients=_networks(config.option("proxy_allow_client"), "--proxy-allow-client"),
        allow_destinations=_networks(config.option("proxy_allow_destination"),
                                     "--proxy-allow-destination"),
        connect_ports=_ports(config.option("proxy_connect_ports")),
        forwarded_headers=not config.option("no_forwarded_headers"),
    ))


def _resource(upstream: Upstream) -> ReverseProxyResource:
    return ReverseProxyResource(upstream, upstream.port, upstream.path.encode("utf-8"))


def make_root(config: Config) -> IResource | None:
    """The reverse proxy given without a prefix, else the forward proxy if `--plugin proxy`."""
    for prefix, upstream in _reverse(config):
        if not prefix:
            return _resource(upstream)
    if "proxy" in config.plugins:
        return ForwardProxyResource()
    return None


def mounts(config: Config) -> dict[str, IResource]:
    """Each `--reverse-proxy /PREFIX=URL`."""
    return {prefix: _resource(upstream) for prefix, upstream in _reverse(config) if prefix}
