"""plugserve-distrib: Twisted Web's `twisted.web.distrib`, on plugserve (see docs/distrib.md).

`UserDirectory` serves every user's `~/public_html` and relays to their personal servers,
`ResourceSubscription` relays a subtree to a server on a UNIX socket (or TCP), and
`ResourcePublisher` is the Site a personal server serves.  `--user` and `--personal` put them
on the command line.  Where Twisted speaks Perspective Broker between the two, plugserve speaks
plain HTTP/1.1, so any HTTP server can be a personal server."""

from ._publisher import ResourcePublisher
from ._subscription import ResourceSubscription
from ._users import UserDirectory

__all__ = ["ResourcePublisher", "ResourceSubscription", "UserDirectory"]
