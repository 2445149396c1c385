# docs/examples/cgi_site.py
import plugserve_static as static
from plugserve import server
from plugserve_cgi import twcgi


class PerlScript(twcgi.FilteredScript):
    filter = "/usr/bin/perl"  # .pl files need not be executable: perl runs them


# run from a checkout: plugserve --config docs/examples/cgi_site.py
root = static.File("docs/examples/cgi_site")
root.processors = {".php": twcgi.PHPScript, ".pl": PerlScript}
root.indexNames = ["index.html", "index.php"]
root.putChild(b"cgi-bin", twcgi.CGIDirectory("docs/examples/cgi_site/cgi-bin"))
site = server.Site(root)
