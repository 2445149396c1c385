# Twisted Web guide, "Using VHostMonster", in the same style as vhost.rpy: a script that only
# builds a resource from a module of the core (twisted.web.util in Twisted): every URL under
# /moved.rpy redirects to the documentation.
# Run: plugserve --path examples/guide/rpy_vhost, then visit /moved.rpy
from plugserve import util
resource = util.Redirect(b"/docs.rpy/")
