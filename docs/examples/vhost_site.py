# docs/examples/vhost_site.py
import plugserve_static as static
from plugserve import server
from plugserve_vhost import vhost

# run from a checkout: plugserve --config docs/examples/vhost_site.py
root = vhost.NameVirtualHost()
root.default = static.File("docs")
root.addHost("foo.com", static.File("examples"))
root.addHost(b"Bar.COM", static.File("bench"))  # str or bytes, any case
site = server.Site(root)
