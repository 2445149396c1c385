"""The core's own defaults, registered through the same hooks any plugin uses, so a plugin can
replace each of them: the in-memory session store, the gzip encoder and the access log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._log import AccessLog
from .encoders import EncoderFactory, GzipEncoderFactory
from .hookspecs import hookimpl
from .session import InMemorySessionStore, SessionStore

if TYPE_CHECKING:
    from ._request import Request
    from .config import Config

__all__ = ["AccessLogPlugin", "CoreDefaults"]


class CoreDefaults:
    """Sessions in memory and gzip."""

    @hookimpl(trylast=True)
    def plugserve_session_store(self, config: Config) -> SessionStore:
        return InMemorySessionStore()

    @hookimpl
    def plugserve_encoders(self, config: Config) -> Sequence[EncoderFactory]:
        return [GzipEncoderFactory()]


class AccessLogPlugin:
    """One Combined Log Format line per request, to --logfile (or stderr, or `-` for stdout)."""

    def __init__(self, path: str | None) -> None:
        self.log = AccessLog(path)

    @hookimpl
    def plugserve_request_finished(self, request: Request) -> None:
        self.log.log(request)

    @hookimpl
    def plugserve_unconfigure(self, config: Config) -> None:
        self.log.close()
