"""Twisted's script resources: `CGIScript`, `FilteredScript` and `PHPScript`.

Each is a leaf: the segments after the script become its PATH_INFO.  Rendering is a coroutine,
so that the client leaving cancels it (and so kills the script).  What reaches the script is
decided here: a `CGIScript` runs the file itself, with the query as argv when RFC 3875 §4.4 says
so; a `FilteredScript` runs its `filter` program on the file and never passes the query as argv,
since there it would be the interpreter's options (php-cgi's CVE-2012-1823).
"""

from __future__ import annotations

import inspect
import io
import logging
import os
import shutil
from typing import Any, ClassVar

from plugserve.resource import Resource

from . import _settings
from ._environ import NulByte, cgi_environ, query_argv
from ._errors import ScriptError
from ._output import ScriptHead
from ._runner import run_script, spool_body

__all__ = ["CGIScript", "FilteredScript", "PHPScript"]

_log = logging.getLogger("plugserve.cgi")
MAX_LOCAL_REDIRECTS = 10


class CGIScript(Resource):
    """The executable file `filename`, run as a CGI script for every request below it."""

    isLeaf = True
    stream_request_body = True
    #: Variables added to every environment of this script (a subclass's, say).
    extra_environ: ClassVar[dict[bytes, bytes]] = {}

    def __init__(self, filename: str, registry: Any = None, reactor: Any = None) -> None:
        super().__init__()
        self.filename = filename
        self.registry = registry
        self.reactor = reactor

    def render(self, request: Any) -> Any:
        """Run the script (a coroutine: the server awaits it, and cancels it, killing the
        script, if the client leaves)."""
        return self._render(request)

    def arguments(self, request: Any) -> list[bytes]:
        """The ISINDEX argv from the query (RFC 3875 §4.4)."""
        return query_argv(request.uri.partition(b"?")[2])

    def argv(self, qargs: list[bytes]) -> list[bytes]:
        """The command: the script itself, then the query words."""
        return [os.fsencode(self.filename), *qargs]

    def check(self) -> None:
        """ScriptError unless the script can run: 404 for a missing file, 403 for one that is
        not an executable file."""
        if not os.path.exists(self.filename):
            raise ScriptError(404, "No Such Resource", "File not found.")
        if not os.path.isfile(self.filename) or not os.access(self.filename, os.X_OK):
            raise ScriptError(403, "Forbidden", "This file is not an executable CGI script.",
                              log=f"cgi {self.filename}: not an executable file (chmod +x it)")

    async def _render(self, request: Any) -> Any:
        settings = _settings.current()
        try:
            self.check()
            try:
                argv = self.argv(self.arguments(request))
                env = cgi_environ(request, self.filename, settings, None)
            except NulByte as exc:
                raise ScriptError(400, "Bad Request", f"This request cannot reach a CGI "
                                  f"script: {exc}.", log=f"cgi {self.filename}: {exc}") from None
            nph = os.path.basename(self.filename).startswith("nph-")
            spool, spooled = await spool_body(request, settings, whole=nph)
            length = spooled if spool is not None else _content_length(request)
            if length is not None:
                env[b"CONTENT_LENGTH"] = str(length).encode()
            env.update(self.extra_environ)
            result = await run_script(request, argv, env, os.path.dirname(self.filename) or ".",
                                      settings, f"cgi {self.filename}", nph, spool)
        except ScriptError as exc:
            if exc.log:
                _log.warning("%s", exc.log)
            if request.startedWriting:
                request.loseConnection()
                return None
            return exc.render(request)
        if isinstance(result, ScriptHead):
            return await _local_redirect(request, result.local_redirect or b"/", self.filename)
        return result

    def runProcess(self, env: Any, request: Any, qargs: Any = ()) -> Any:
        """Twisted's entry point: the same as rendering (env and qargs are computed again)."""
        return self._render(request)


class FilteredScript(CGIScript):
    """A script file run by the program `filter` (`[filter, filename]`), which need not be
    executable itself.  The query never becomes argv: it would be the program's options."""

    filter: str | None = "/usr/bin/cat"

    def arguments(self, request: Any) -> list[bytes]:
        return []

    def program(self) -> str:
        """The `filter` program, found on PATH when it has no slash."""
        return self.filter or "/usr/bin/cat"

    def argv(self, qargs: list[bytes]) -> list[bytes]:
        program = self.program()
        if "/" not in program:
            path = dict(_settings.current().environ).get("PATH", _settings.DEFAULT_PATH)
            program = shutil.which(program, path=path) or program
        if not os.path.isfile(program) or not os.access(program, os.X_OK):
            raise ScriptError(500, "CGI Script Error", "The program that runs this script "
                              "is missing.", log=f"cgi {self.filename}: the program that runs "
                              f"it, {program!r}, is not installed or not executable")
        return [os.fsencode(program), os.fsencode(self.filename)]

    def check(self) -> None:
        if not os.path.isfile(self.filename):
            raise ScriptError(404, "No Such Resource", "File not found.")


class PHPScript(FilteredScript):
    """A `.php` file run by php-cgi (`--php-cgi`, default `php-cgi` on PATH), with the
    REDIRECT_STATUS that php-cgi's `cgi.force_redirect` asks for."""

    filter = None
    extra_environ: ClassVar[dict[bytes, bytes]] = {b"REDIRECT_STATUS": b"200"}

    def program(self) -> str:
        return self.filter or _settings.current().php_cgi


def _content_length(request: Any) -> int | None:
    values = request.requestHeaders.getRawHeaders(b"content-length")
    return int(values[-1]) if values else None


async def _local_redirect(request: Any, location: bytes, filename: str) -> Any:
    """Serve `location` from this server as a GET, for the script (RFC 3875 §6.2.2)."""
    count = getattr(request, "cgi_local_redirects", 0) + 1
    if count > MAX_LOCAL_REDIRECTS:
        _log.warning("cgi %s: more than %d local redirects (the last to %r)", filename,
                     MAX_LOCAL_REDIRECTS, location)
        return ScriptError(500, "CGI Script Error", "Too many local redirects.").render(request)
    request.cgi_local_redirects = count
    request.method = b"GET"
    request.content = io.BytesIO()
    for name in (b"content-length", b"content-type", b"transfer-encoding"):
        request.requestHeaders.removeHeader(name)
    request.retarget(location)
    result = request.site.getResourceFor(request).render(request)
    if inspect.isawaitable(result):
        result = await result
    return result
