"""plugserve-static: Twisted Web's `static.File` for plugserve, fast and safe.

    from plugserve_static import File

    root = File("/var/www/htdocs")
    root.putChild(b"doc", File("/usr/share/doc"))
"""

from ._asis import ASISProcessor
from ._file import File, Registry
from ._listing import DirectoryLister

__all__ = ["ASISProcessor", "DirectoryLister", "File", "Registry"]
