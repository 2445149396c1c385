# Twisted Web guide, "Serving PHP/Perl/CGI": a .rpy that serves perl files.
# Ported to plugserve: only the import changed (`static` is plugserve-static's module, `twcgi`
# plugserve-cgi's). The site is the guide's /perlsite unless the PERLSITE environment variable
# names another directory (added so that the tests can serve a temporary tree).
# Run: put this file in a directory served by `plugserve --path DIR`, then visit /perl.rpy/
import os

import plugserve_static as static
from plugserve_cgi import twcgi

class PerlScript(twcgi.FilteredScript):
    filter = '/usr/bin/perl' # Points to the perl parser

resource = static.File(os.environ.get("PERLSITE", "/perlsite")) # Points to the perl website
resource.processors = {".pl": PerlScript} # Files that end with .pl will be
                                          # processed by PerlScript
resource.indexNames = ['index.pl']
