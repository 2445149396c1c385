# Twisted Web guide, "Using VHostMonster": Twisted Web's reverse proxy in front of an internal
# server whose vhost.rpy is a VHostMonsterResource (examples/guide/rpy_vhost/vhost.rpy).
# Ported to plugserve: only the imports changed (`proxy` is plugserve-proxy's module, `vhost`
# plugserve-vhost's), and the application/strports service lines are replaced by `listen`,
# which `plugserve --config` reads, and the guarded run line.
# In Twisted every page of this example is a 404: the upstream path ends in "/" and each
# segment added another, giving //page.  Here it works end to end.
# Run: plugserve --config examples/guide/vhost_reverse_proxy.py [--listen tcp:8080]
#  or: python examples/guide/vhost_reverse_proxy.py   (listens on port 80, as the guide does)
# The internal server is the host named "internal", port 8538, e.g.
#   plugserve --path examples/guide/rpy_vhost --listen tcp:8538
# on a machine that resolves "internal" (an /etc/hosts line will do).
import plugserve
from plugserve import server
from plugserve_proxy import proxy
from plugserve_vhost import vhost

vhostName = b'example.com'
reverseProxy = proxy.ReverseProxyResource('internal', 8538,
                                          b'/vhost.rpy/http/'+vhostName+b'/')
root = vhost.NameVirtualHost()
root.addHost(vhostName, reverseProxy)
site = server.Site(root)
listen = ["tcp:80"]
if __name__ == "__main__":
    plugserve.run(site, *listen)
