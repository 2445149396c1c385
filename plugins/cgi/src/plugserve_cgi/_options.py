"""The command-line options of plugserve-cgi, their checks, and what they serve."""

from __future__ import annotations

import argparse
import os
import shutil

from plugserve.cli import byte_size
from plugserve.config import Config
from plugserve.error import UsageError
from plugserve.mounts import split_prefixed
from plugserve.resource import IResource

from . import _settings
from ._directory import CGIDirectory
from ._script import CGIScript, PHPScript

__all__ = ["add_options", "check_options", "index_names", "mounts", "processors"]

_DEFAULTS = _settings.CGISettings()
DEFAULT_PREFIX = "/cgi-bin"


def add_options(group: argparse._ArgumentGroup) -> None:
    """Add --cgi-dir, --cgi-ext, --php and the --cgi-* limits."""
    group.add_argument("--cgi-dir", action="append", default=[], metavar="[/PREFIX=]DIR",
                       help="run the executable files of DIR as CGI scripts under /PREFIX "
                            f"(default {DEFAULT_PREFIX}); repeatable")
    group.add_argument("--cgi-ext", action="append", default=[], metavar=".EXT",
                       help="run files ending in .EXT under --path as CGI scripts (e.g. "
                            "--cgi-ext .cgi); repeatable; off by default")
    group.add_argument("--php", action="store_true",
                       help="run .php files under --path through php-cgi, with index.php as "
                            "an index name")
    group.add_argument("--php-cgi", metavar="PROGRAM", default=_DEFAULTS.php_cgi,
                       help=f"the php-cgi program (default {_DEFAULTS.php_cgi}, found on PATH)")
    group.add_argument("--cgi-timeout", type=float, metavar="SECONDS",
                       default=_DEFAULTS.timeout,
                       help="kill a script's process group after this long (504 if it sent "
                            f"nothing yet; default {_DEFAULTS.timeout:g}; 0 never)")
    group.add_argument("--cgi-env", action="append", default=[], metavar="NAME[=VALUE]",
                       help="pass the server's NAME (or NAME=VALUE) to scripts; only PATH "
                            "passes otherwise; repeatable")
    group.add_argument("--cgi-stderr-max", type=byte_size, metavar="BYTES",
                       default=_DEFAULTS.stderr_bytes,
                       help="log at most this much of a request's stderr "
                            f"(default {_DEFAULTS.stderr_bytes // 1024}K)")
    group.add_argument("--cgi-spool-max", type=byte_size, metavar="BYTES",
                       default=_DEFAULTS.spool_bytes,
                       help="spool a chunked upload up to this size to give the script its "
                            f"CONTENT_LENGTH, else 411 (default "
                            f"{_DEFAULTS.spool_bytes // 1024 ** 2}M)")
    group.add_argument("--cgi-header-max", type=byte_size, metavar="BYTES",
                       default=_DEFAULTS.head_bytes,
                       help="the most a script's header block may be before its output is "
                            f"malformed, 502 (default {_DEFAULTS.head_bytes // 1024}K)")


def _dirs(config: Config) -> list[tuple[str, str]]:
    found = []
    for item in config.option("cgi_dir") or ():
        prefix, path = split_prefixed(item, "--cgi-dir")
        if not os.path.isdir(path):
            raise UsageError(f"--cgi-dir {item}: {path} is not a directory; give "
                             "--cgi-dir /cgi-bin=/path/to/scripts")
        found.append((prefix or DEFAULT_PREFIX, path))
    return found


def _environ(config: Config) -> tuple[tuple[str, str], ...]:
    found = {"PATH": os.environ.get("PATH", _settings.DEFAULT_PATH)}
    for item in config.option("cgi_env") or ():
        name, sep, value = item.partition("=")
        if not name or "\0" in item or not name.replace("_", "a").isalnum():
            raise UsageError(f"--cgi-env {item}: give NAME or NAME=VALUE, e.g. "
                             "--cgi-env TZ or --cgi-env APP_ENV=production")
        if sep:
            found[name] = value
        elif name in os.environ:
            found[name] = os.environ[name]
    return tuple(found.items())


def _extensions(config: Config) -> list[str]:
    found = []
    for ext in config.option("cgi_ext") or ():
        if not ext.startswith(".") or len(ext) < 2 or "/" in ext:
            raise UsageError(f"--cgi-ext {ext}: give an extension with its dot, e.g. .cgi")
        found.append(ext)
    return found


def check_options(config: Config) -> None:
    """UsageError for a malformed option; else the settings take effect."""
    _dirs(config)
    extensions = _extensions(config)
    if config.option("php") and ".php" in extensions:
        raise UsageError("--cgi-ext .php and --php both claim .php files; give one of them")
    for flag in ("cgi_timeout", "cgi_stderr_max", "cgi_spool_max", "cgi_header_max"):
        value = config.option(flag)
        if value is not None and value < 0:
            raise UsageError(f"--{flag.replace('_', '-')} {value}: give 0 or more")
    environ = _environ(config)
    php_cgi = config.option("php_cgi", _DEFAULTS.php_cgi)
    # Looked up on the PATH the scripts get, as FilteredScript.argv looks it up per request.
    if config.option("php") and shutil.which(php_cgi, path=dict(environ)["PATH"]) is None:
        raise UsageError(f"--php: the php-cgi program {php_cgi!r} is not found or not "
                         "executable; install it (Debian: apt install php-cgi) or give "
                         "--php-cgi /path/to/php-cgi")
    path = config.option("path")
    _settings.use(_settings.CGISettings(
        timeout=config.option("cgi_timeout", _DEFAULTS.timeout),
        environ=environ,
        stderr_bytes=config.option("cgi_stderr_max", _DEFAULTS.stderr_bytes),
        spool_bytes=config.option("cgi_spool_max", _DEFAULTS.spool_bytes),
        head_bytes=config.option("cgi_header_max", _DEFAULTS.head_bytes) or 1,
        document_root=os.path.abspath(path) if path and os.path.isdir(path) else None,
        php_cgi=php_cgi,
    ))


def mounts(config: Config) -> dict[str, IResource]:
    """Each --cgi-dir at its prefix."""
    return {prefix: CGIDirectory(path) for prefix, path in _dirs(config)}


def processors(config: Config) -> dict[str, type[CGIScript]]:
    """`.php` under --php, and each --cgi-ext."""
    found: dict[str, type[CGIScript]] = dict.fromkeys(_extensions(config), CGIScript)
    if config.option("php"):
        found[".php"] = PHPScript
    return found


def index_names(config: Config) -> list[str]:
    """index.php under --php."""
    return ["index.php"] if config.option("php") else []
