"""`from plugserve_vhost import vhost` stands for `from twisted.web import vhost`: the same
names, so `vhost.NameVirtualHost()` and `vhost.VHostMonsterResource()` port unchanged."""

from . import NameVirtualHost, VHostMonsterResource

__all__ = ["NameVirtualHost", "VHostMonsterResource"]
