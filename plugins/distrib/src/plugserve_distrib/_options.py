"""The options of plugserve-distrib (`--user`, `--personal` and the relay's limits), and what
they make: the root, the default endpoint, and the settings every relay reads."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from plugserve.config import Config
from plugserve.error import UsageError
from plugserve.resource import IResource

from . import _settings
from ._users import UserDirectory

__all__ = ["PERSONAL_SOCKET", "add_options", "check_options", "default_listen", "make_root"]

#: Where `--personal` listens, and where `--user` looks for each user's personal server.
PERSONAL_SOCKET = "~/" + UserDirectory.userSocketName
_DEFAULTS = _settings.DistribSettings()


def add_options(group: argparse._ArgumentGroup) -> None:
    """Add --user, --personal, --user-timeout, --user-connect-timeout, --user-max-concurrent
    and --user-follow-symlinks."""
    group.add_argument("--user", action="store_true",
                       help="serve every user's ~/public_html at /NAME/ and their personal "
                            "server at /NAME.plugserve/ (Twisted's --user)")
    group.add_argument("--personal", action="store_true",
                       help=f"serve this site as your personal server, on unix:{PERSONAL_SOCKET}"
                            " unless --listen says otherwise (Twisted's --personal)")
    group.add_argument("--user-timeout", type=float, metavar="SECONDS",
                       help="--user: each wait for a personal server's answer "
                            f"(default {_DEFAULTS.timeout:g}; 504 before the head)")
    group.add_argument("--user-connect-timeout", type=float, metavar="SECONDS",
                       help="--user: a personal server that does not accept within this long "
                            f"is not running (default {_DEFAULTS.connect_timeout:g}; 502)")
    group.add_argument("--user-max-concurrent", type=int, metavar="N",
                       help="--user: requests relayed to one personal server at once "
                            f"(default {_DEFAULTS.max_per_user}; one more gets 503)")
    group.add_argument("--user-follow-symlinks", action="store_true",
                       help="--user: follow symlinks out of a user's public_html (off: each "
                            "user's site is contained)")


def check_options(config: Config) -> None:
    """UsageError for a bad combination or limit; else the settings take effect."""
    user, personal = config.option("user"), config.option("personal")
    if user and personal:
        raise UsageError("--user and --personal: give one (--user is the front server, "
                         "--personal each user's own)")
    if user and config.option("path") is not None:
        raise UsageError("--user serves every user's public_html at the root: drop --path, "
                         "or serve it with --personal")
    for flag in ("user_timeout", "user_connect_timeout"):
        value = config.option(flag)
        if value is not None and value <= 0:
            raise UsageError(f"--{flag.replace('_', '-')} {value:g}: give a number of seconds "
                             "above 0")
    most = config.option("user_max_concurrent")
    if most is not None and most < 1:
        raise UsageError(f"--user-max-concurrent {most}: give 1 or more")
    _settings.use(_settings.DistribSettings(
        connect_timeout=config.option("user_connect_timeout") or _DEFAULTS.connect_timeout,
        timeout=config.option("user_timeout") or _DEFAULTS.timeout,
        max_per_user=most or _DEFAULTS.max_per_user,
        follow_symlinks=bool(config.option("user_follow_symlinks")),
        personal=bool(personal),
    ))


def make_root(config: Config) -> IResource | None:
    """The UserDirectory for --user; None otherwise."""
    return UserDirectory() if config.option("user") else None


def default_listen(config: Config) -> Sequence[str] | None:
    """--personal: the user's socket, with a lock file (a crashed server's socket is taken
    over, a running one's never), writable by all, as Twisted's UNIX sockets are, so that a
    front server running as another user (www-data) can connect."""
    if not config.option("personal"):
        return None
    return [f"unix:{os.path.expanduser(PERSONAL_SOCKET)}:mode=0666:wantPID=1"]
