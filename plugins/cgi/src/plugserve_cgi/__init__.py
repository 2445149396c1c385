"""plugserve-cgi: Twisted Web's `twisted.web.twcgi`, on plugserve (see docs/cgi.md).

`CGIScript` runs an executable file as a CGI script (RFC 3875), `FilteredScript` runs a file
through an interpreter (`filter`), `PHPScript` through php-cgi, and `CGIDirectory` serves a
folder of scripts.  `--cgi-dir`, `--cgi-ext` and `--php` put them on the command line."""

from ._directory import CGIDirectory
from ._script import CGIScript, FilteredScript, PHPScript

__all__ = ["CGIDirectory", "CGIScript", "FilteredScript", "PHPScript"]
