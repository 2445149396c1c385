"""`ResourcePublisher(site)`: the Site a personal server serves, as Twisted's
`distrib.ResourcePublisher` is the root object a personal server publishes over PB.

It is `site` itself (the same tree, settings and sessions), and on UNIX sockets it believes
what the front server says about the real request (`_front.apply_front`): the client's
address, the front's Host and scheme, and the prefix the site is mounted at.  `plugserve
--personal` publishes the run's site this way; a config file may serve one itself:

    site = ResourcePublisher(Site(root))
    listen = ["unix:/home/alice/.plugserve-web.sock:wantPID=1"]
"""

from __future__ import annotations

from plugserve.server import Site

__all__ = ["ResourcePublisher"]


class ResourcePublisher(Site):
    """`site`, published to a front server (`plugserve --user`, or any HTTP front that sends
    X-Forwarded-For, -Proto, -Host and -Prefix)."""

    #: Read by the request_started hook: believe the front server's headers on UNIX sockets.
    trusts_front = True

    def __init__(self, site: Site) -> None:
        self.__dict__.update(vars(site))
        self.site = site
