"""Running one script for one request: its body in, its response out, and its end.

The request body streams to stdin as it arrives (a chunked one is spooled first, so that the
script learns its CONTENT_LENGTH); stdout is read into a head (`_output`) and then streamed to
the client, each side waiting for the other's back-pressure; stderr goes to the error log line
by line.  Whatever happens (the script ends, malformed output, `--cgi-timeout`, the client
leaving, which cancels the render), the script's process group is killed and reaped before the
request is over.  `nph-` scripts get the connection itself (`Request.take_over(raw=True)`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import tempfile
from collections.abc import Sequence
from typing import IO, Any

from ._errors import ScriptError
from ._output import HeadReader, MalformedOutput, ScriptHead
from ._process import ScriptProcess, spawn
from ._relay import respond, respond_raw
from ._settings import CGISettings

__all__ = ["run_script", "spool_body"]

_log = logging.getLogger("plugserve.cgi")
_CHUNK = 64 * 1024


async def spool_body(request: Any, settings: CGISettings,
                     whole: bool = False) -> tuple[IO[bytes] | None, int | None]:
    """A chunked body (any body, if `whole`) read to its end into a spooled file, and its
    size; (None, None) for none to spool.  ScriptError(411) past `settings.spool_bytes`."""
    chunked = request.requestHeaders.getRawHeaders(b"transfer-encoding") is not None
    if not chunked and not (whole and _declared_length(request)):
        return None, None
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - returned
    size = 0
    content = request.content
    try:
        while chunk := await content.read(_CHUNK):
            size += len(chunk)
            if size > settings.spool_bytes:
                raise ScriptError(411, "Length Required", "A chunked upload to a CGI script "
                                  f"may be at most {settings.spool_bytes} bytes; send a "
                                  "Content-Length for a larger one.")
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, size


async def _feed(process: ScriptProcess, request: Any, spool: IO[bytes] | None) -> None:
    """Copy the body to the script's stdin, then close it; a script that stops reading (a
    broken pipe) ends the copy, not the request."""
    try:
        if spool is not None:
            while chunk := spool.read(_CHUNK):
                await _put(process, chunk)
        elif _declared_length(request):
            async for chunk in request.content:
                await _put(process, chunk)
    except (OSError, ConnectionError):  # the client or the script went away: both end it
        pass
    finally:
        process.close_stdin()


async def _put(process: ScriptProcess, chunk: bytes) -> None:
    if process.sink.closed or process.stdin is None:
        raise BrokenPipeError
    process.stdin.write(chunk)
    await process.sink.drain()


def _declared_length(request: Any) -> int:
    values = request.requestHeaders.getRawHeaders(b"content-length")
    return int(values[-1]) if values else 0


async def _log_stderr(process: ScriptProcess, label: str, cap: int) -> None:
    """Log the script's stderr line by line, prefixed with its name, at most `cap` bytes."""
    logged = dropped = 0
    rest = b""
    while data := await process.stderr.read(_CHUNK):
        lines = (rest + data).split(b"\n")
        rest = lines.pop()
        for line in lines:
            if logged + len(line) > cap:
                dropped += len(line) + 1
                continue
            logged += len(line) + 1
            _log.warning("%s: %s", label, line.rstrip(b"\r").decode("utf-8", "replace"))
        if len(rest) > cap:
            dropped, rest = dropped + len(rest), b""
    if rest and logged + len(rest) <= cap:
        _log.warning("%s: %s", label, rest.decode("utf-8", "replace"))
    elif rest:
        dropped += len(rest)
    if dropped:
        _log.warning("%s: %d more bytes of stderr not logged (the cap is %d)", label,
                     dropped, cap)


async def _read_head(process: ScriptProcess, settings: CGISettings,
                     label: str) -> tuple[ScriptHead, bytes]:
    reader = HeadReader(settings.head_bytes)
    while data := await process.stdout.read(_CHUNK):
        found = reader.feed(data)
        if found is not None:
            return found
    raise ScriptError(502, "Bad Gateway", "The CGI script ended before it sent its headers.",
                      log=f"{label}: the script ended before its headers were complete")


async def _start(argv: Sequence[bytes], env: dict[bytes, bytes], cwd: str,
                 label: str) -> ScriptProcess:
    """spawn, with exec's failures as the pages they deserve."""
    try:
        return await spawn(argv, env, cwd)
    except FileNotFoundError:
        program = os.fsdecode(argv[0])
        raise ScriptError(500, "CGI Script Error", "The program that runs this script is "
                          "missing.", log=f"{label}: cannot run {program}: it, or the "
                          "interpreter its #! line names, does not exist") from None
    except PermissionError:
        raise ScriptError(403, "Forbidden", "This script may not be run.",
                          log=f"{label}: not executable") from None
    except OSError as exc:
        if exc.errno != errno.ENOEXEC:
            raise
        raise ScriptError(500, "CGI Script Error", "This script cannot be run.",
                          log=f"{label}: not a program (a script needs a #! line)") from None


async def run_script(request: Any, argv: Sequence[bytes], env: dict[bytes, bytes], cwd: str,
                     settings: CGISettings, label: str, nph: bool,
                     spool: IO[bytes] | None) -> Any:
    """Run the script and answer `request` with its output.  Returns what the render returns
    (a local redirect's render result), after the process group has been killed."""
    process = await _start(argv, env, cwd, label)
    feeding = asyncio.ensure_future(_feed(process, request, spool))
    logging_stderr = asyncio.ensure_future(_log_stderr(process, label, settings.stderr_bytes))
    sent_head = False
    try:
        async with _deadline(settings.timeout):
            if nph:
                await respond_raw(request, process)
                return None
            try:
                head, body = await _read_head(process, settings, label)
            except MalformedOutput as exc:
                raise ScriptError(502, "Bad Gateway", "The CGI script's output was not a "
                                  "valid response.",
                                  log=f"{label}: malformed output: {exc}") from None
            if head.local_redirect is not None:
                return head
            sent_head = True
            await respond(request, process, head, body)
            return None
    except TimeoutError:
        _log.warning("%s: killed after --cgi-timeout %gs", label, settings.timeout)
        if sent_head or request.startedWriting:
            request.loseConnection()
            return None
        raise ScriptError(504, "Gateway Timeout", "The CGI script did not answer in time.",
                          log=None) from None
    except ScriptError as exc:
        if exc.status == 502:  # what it said on stderr explains the failure: log it first
            process.close_stdin()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(logging_stderr), 1.0)
        raise
    finally:
        process.close()
        feeding.cancel()
        await _settle(process, logging_stderr, label)
        if spool is not None:
            spool.close()


async def _settle(process: ScriptProcess, logging_stderr: asyncio.Future[None],
                  label: str) -> None:
    """Wait (briefly: the group was killed) for the exit, and log a failing one.  A request
    cancelled meanwhile (its client left, the server shuts down) still waits for the exit
    before it ends, so that the script is reaped and nothing it started outlives it."""
    try:
        code = await asyncio.wait_for(asyncio.shield(process.exited), 5.0)
    except TimeoutError:
        logging_stderr.cancel()
        return
    except asyncio.CancelledError:
        logging_stderr.cancel()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(process.exited), 5.0)
        raise
    with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(logging_stderr, 1.0)
    if code > 0:
        _log.info("%s: exited with status %d", label, code)


@contextlib.asynccontextmanager
async def _deadline(seconds: float) -> Any:
    if seconds <= 0:
        yield
        return
    async with asyncio.timeout(seconds):
        yield

