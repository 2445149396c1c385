# Twisted Web guide, "Using VHostMonster", in the same style as vhost.rpy: a script that only
# builds a resource from a plugin's module, here the guide's /usr/share/doc as a File (from
# "Adding Children"); traversal continues into it, so /docs.rpy/NAME serves /usr/share/doc/NAME.
# The folder is /usr/share/doc unless the DOCDIR environment variable names another one.
# Run: plugserve --path examples/guide/rpy_vhost, then visit /docs.rpy/
import os

import plugserve_static as static
resource = static.File(os.environ.get("DOCDIR", "/usr/share/doc"))
