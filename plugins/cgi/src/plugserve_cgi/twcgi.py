"""`from plugserve_cgi import twcgi` stands for `from twisted.web import twcgi`: the same names,
so `twcgi.CGIDirectory(...)` and `class PerlScript(twcgi.FilteredScript)` port unchanged."""

from . import CGIDirectory, CGIScript, FilteredScript, PHPScript

__all__ = ["CGIDirectory", "CGIScript", "FilteredScript", "PHPScript"]
