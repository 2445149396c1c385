"""The CGI settings in force (from the command line, or the defaults), so that scripts built in
a `--config` file or an `.rpy` run under the same limits as `--cgi-dir` ones."""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["CGISettings", "current", "use"]


@dataclass(frozen=True)
class CGISettings:
    """Every option of the CGI plugin; docs/cgi.md describes each."""

    #: Seconds a script may run before its process group is killed (504 if nothing was sent);
    #: 0 lets it run as long as its client stays.
    timeout: float = 60.0
    #: Environment variables passed to every script besides the CGI ones: PATH, and what
    #: --cgi-env adds (a name copies the server's value, NAME=VALUE sets one).
    environ: tuple[tuple[str, str], ...] = ()
    #: stderr bytes logged per request; the rest is counted, not logged.
    stderr_bytes: int = 64 * 1024
    #: A chunked upload is spooled (to learn its CONTENT_LENGTH) up to this many bytes; past
    #: that the client gets 411 and is asked to send a Content-Length.
    spool_bytes: int = 100 * 1024 * 1024
    #: Header block bytes a script may print before its output counts as malformed (502).
    head_bytes: int = 64 * 1024
    #: DOCUMENT_ROOT (and the base of PATH_TRANSLATED): the --path folder; None uses the
    #: script's own folder.
    document_root: str | None = None
    #: The program that runs a `PHPScript` (--php-cgi).
    php_cgi: str = "php-cgi"


DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_current = CGISettings(environ=(("PATH", os.environ.get("PATH", DEFAULT_PATH)),))


def use(settings: CGISettings) -> None:
    """Make `settings` those of every CGI resource from now on (the command calls it)."""
    global _current
    _current = settings


def current() -> CGISettings:
    """The settings in force."""
    return _current
