"""plugserve-vhost: Twisted Web's `twisted.web.vhost`, on plugserve (see docs/vhost.md).

`NameVirtualHost` serves one resource per host name, `VHostMonsterResource` lets a reverse
proxy in front name the host and scheme in the path, and `--trust-forwarded` believes the
`Forwarded`/`X-Forwarded-*` headers of trusted front proxies."""

from ._folders import VHostFolders
from ._hosts import HostMap, NameVirtualHost
from ._monster import VHostMonsterResource

__all__ = ["HostMap", "NameVirtualHost", "VHostFolders", "VHostMonsterResource"]
