"""`UserDirectory`: every user's site under one server, as `plugserve --user` serves it.

    /              the users who have a ~/public_html or a personal server, with their names
    /NAME/         ~NAME/public_html, served as --path serves a folder (the directory hook)
    /NAME.plugserve/   relayed to NAME's personal server, ~NAME/.plugserve-web.sock
    /~NAME/        either: the personal server when its socket is there, else public_html

The user database is anything with `getpwnam` and `getpwall` (the `pwd` module by default).
A user's public_html is contained: no symlink out of it is followed (`--user-follow-symlinks`
allows them).  A home that cannot be read is left out of the listing, and is no error."""

from __future__ import annotations

import html
import logging
import os
from typing import Any
from urllib.parse import quote

from plugserve.resource import IResource, NoResource, Resource, error_html

from . import _settings
from ._subscription import ResourceSubscription

__all__ = ["UserDirectory"]

_log = logging.getLogger("plugserve.distrib")
_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em auto;max-width:40em;padding:0 1em}"
          "li{margin:.4em 0}a{text-decoration:none}small{color:#666}"
          "@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}"
          "a{color:#8cf}small{color:#999}}")


class _NotRunning(Resource):
    """The 502 of a user who has neither a personal server nor a public_html (`/~NAME/`)."""

    isLeaf = True

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def render(self, request: Any) -> bytes:
        request.setResponseCode(502)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return error_html(502, "Bad Gateway", f"{self.name}'s personal server is not running, "
                          "and they have no public_html.")


class UserDirectory(Resource):
    """The sites of the users in `userDatabase` (Twisted's `distrib.UserDirectory`)."""

    userDirName = "public_html"
    userSocketName = ".plugserve-web.sock"
    #: The suffix that names a personal server (Twisted's is ".twistd").
    userSuffix = ".plugserve"

    def __init__(self, userDatabase: Any = None) -> None:
        super().__init__()
        if userDatabase is None:
            import pwd

            userDatabase = pwd
        self._pwd = userDatabase

    def _paths(self, entry: Any) -> tuple[str, str]:
        home = entry.pw_dir
        return os.path.join(home, self.userDirName), os.path.join(home, self.userSocketName)

    def getChild(self, name: bytes, request: Any) -> IResource:
        """The resource of one user's site (see the module's docstring)."""
        if name == b"":
            return self
        try:
            text = name.decode("utf-8")
        except UnicodeDecodeError:
            return NoResource()
        tilde = text.startswith("~")
        user = text[1:] if tilde else text
        personal = user.endswith(self.userSuffix)
        if personal:
            user = user[: -len(self.userSuffix)]
        if not user or "/" in user or "\0" in user:
            return NoResource()
        try:
            entry = self._pwd.getpwnam(user)
        except KeyError:
            return NoResource("No such user.")
        public, socket = self._paths(entry)
        label = _real_name(entry)
        subscription = ResourceSubscription("unix", socket, owner=entry.pw_uid, name=label)
        if personal:
            return subscription
        if tilde and os.path.lexists(socket):
            return subscription
        if os.path.isdir(public):
            config = getattr(request.site, "config", None)
            contained = not _settings.current().follow_symlinks
            folder: IResource | None = (
                config.directory_resource(public, contained=contained) if config else None)
            if folder is not None:
                return folder
            _log.warning("distrib: no plugin serves folders (install plugserve-static) for %s",
                         public)
        return _NotRunning(label) if tilde else NoResource("No such user site.")

    def render_GET(self, request: Any) -> bytes:
        """The list of the users who have a site, each with their real name, escaped."""
        base = "".join("/" + quote(s.decode("latin-1"), safe="")
                       for s in request.prepath if s) + "/"
        items = []
        for entry in sorted(self._listed(), key=lambda e: e.pw_name):
            public, socket = self._paths(entry)
            name = html.escape(_real_name(entry))
            link = base + quote(entry.pw_name, safe="")
            if os.path.isdir(public):
                items.append(f'<li><a href="{html.escape(link)}/">{link}/</a> {name} '
                             "<small>(files)</small></li>")
            if os.path.lexists(socket):
                items.append(f'<li><a href="{html.escape(link)}{self.userSuffix}/">'
                             f"{link}{self.userSuffix}/</a> {name} "
                             "<small>(personal server)</small></li>")
        body = "\n".join(items) or "<li>No user has a site yet.</li>"
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width">'
                f"<title>Users</title><style>{_STYLE}</style></head>"
                f"<body><h1>Users</h1><ul>\n{body}\n</ul></body></html>").encode()

    render_HEAD = render_GET

    def _listed(self) -> list[Any]:
        """The users with a public_html or a socket, among those whose home can be read."""
        found = []
        for entry in self._pwd.getpwall():
            try:
                names = set(os.listdir(entry.pw_dir))
            except OSError:
                continue  # an unreadable (or missing) home: not listed, and no error
            if self.userDirName in names or self.userSocketName in names:
                found.append(entry)
        return found


def _real_name(entry: Any) -> str:
    """The GECOS name up to its first comma, or the login name."""
    gecos = (getattr(entry, "pw_gecos", "") or "").split(",")[0].strip()
    return gecos or entry.pw_name
