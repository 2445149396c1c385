"""The HTML directory listing: escaped names, size, type, modification time, directories first.

Names are HTML-escaped in the text and %-quoted in links, so a file called `<b>&.txt` can
neither inject markup nor break its link.  The small inline stylesheet keeps the table readable
on a phone (no horizontal scrolling of the name column).  Only GET and HEAD are answered
(Twisted's lister answered every method).
"""

from __future__ import annotations

import html
import os
import stat
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote, unquote

from plugserve.resource import Resource, error_html
from plugserve.server import Request

from ._paths import is_hidden

__all__ = ["DirectoryLister", "format_size"]

_STYLE: Final = (
    "body{font-family:system-ui,sans-serif;margin:1em;line-height:1.4}"
    "h1{font-size:1.5em;overflow-wrap:anywhere}"
    "table{border-collapse:collapse;width:100%;max-width:60em}"
    "th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd}"
    "td.n{overflow-wrap:anywhere}td.s,td.t,td.m{white-space:nowrap}"
    "tr:nth-child(even){background:#f6f6f6}"
    "@media (max-width:600px){.t,.m{display:none}}"
)


def format_size(size: int) -> str:
    """Twisted's `formatFileSize`: B below 1 KiB, then K, M, G, rounded down."""
    for unit, scale in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if size >= scale:
            return f"{size // scale}{unit}"
    return f"{size}B"


class DirectoryLister(Resource):
    """The listing of one directory (`File` renders one when no index file exists)."""

    isLeaf = True

    def __init__(self, path: str, type_of: Callable[[str], str], dotfiles: bool = False) -> None:
        super().__init__()
        self.path = path
        self._type_of = type_of
        self._dotfiles = dotfiles

    def _entries(self) -> list[tuple[bool, str, int, float]]:
        rows = []
        for name in os.listdir(self.path):
            if not self._dotfiles and is_hidden(name):
                continue
            try:
                st = os.stat(os.path.join(self.path, name))
            except OSError:  # a broken symlink, or gone meanwhile
                continue
            rows.append((not stat.S_ISDIR(st.st_mode), name, st.st_size, st.st_mtime))
        rows.sort()
        return rows

    def render(self, request: Request) -> Any:
        """The listing for GET and HEAD; 405 for the other methods."""
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        if request.method not in (b"GET", b"HEAD"):
            request.setResponseCode(405)
            request.setHeader(b"allow", b"GET, HEAD")
            return error_html(405, "Method Not Allowed", "A listing is only read.")
        try:
            entries = self._entries()
        except OSError:
            request.setResponseCode(403)
            return error_html(403, "Forbidden Resource", "This directory cannot be listed.")
        where = html.escape(unquote(request.path.decode("latin-1"), errors="replace"))
        rows = ['<tr><td class="n"><a href="../">../</a></td><td class="s"></td>'
                '<td class="t">[Directory]</td><td class="m"></td></tr>']
        for is_file, name, size, mtime in entries:
            link = quote(os.fsencode(name), safe="") + ("" if is_file else "/")
            text = html.escape(name) + ("" if is_file else "/")
            kind = html.escape(self._type_of(name)) if is_file else "Directory"
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(mtime))
            rows.append(
                f'<tr><td class="n"><a href="{html.escape(link, quote=True)}">{text}</a></td>'
                f'<td class="s">{format_size(size) if is_file else ""}</td>'
                f'<td class="t">[{kind}]</td><td class="m">{when}</td></tr>'
            )
        page = (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Directory listing for {where}</title><style>{_STYLE}</style></head>"
            f"<body><h1>Directory listing for {where}</h1><table>"
            '<thead><tr><th>Filename</th><th>Size</th><th class="t">Content type</th>'
            '<th class="m">Modified (UTC)</th></tr></thead><tbody>'
            + "\n".join(rows) + "</tbody></table></body></html>\n"
        )
        return page.encode("utf-8", "surrogateescape")
