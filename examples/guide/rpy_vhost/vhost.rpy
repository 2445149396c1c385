# Twisted Web guide, "Using VHostMonster": drop this vhost.rpy in a tree served with the .rpy
# processor (plugserve --path DIR does that), and proxy to /vhost.rpy/http/example.com:80/.
# Ported to plugserve: only the import changed.  VHostMonsterResource belongs to the
# plugserve-vhost plugin (from a checkout that has it: pip install ./plugins/vhost).
# Run: plugserve --path examples/guide/rpy_vhost, then visit /vhost.rpy/http/example.com:80/
import plugserve_vhost as vhost
resource = vhost.VHostMonsterResource()
