"""Listening endpoints written as strings, in Twisted's strports syntax.

    tcp:8080                     tcp:0:interface=127.0.0.1:backlog=128
    tcp6:8080:interface=\\:\\:1    unix:/run/plugserve.sock:mode=0660
    ssl:8443:privateKey=key.pem:certKey=cert.pem

`tcp:0` binds an ephemeral port; the server reports the address it really got.  A colon inside a
value is written `\\:`.  `port=`, `address=` and `interface=` may also be given by name.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import ssl
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ._pidlock import acquire_pid_lock
from .error import UsageError

__all__ = ["Endpoint", "bind_sockets", "listen", "listen_on", "parse_endpoint", "socket_urls"]

_KINDS = ("tcp", "tcp6", "unix", "ssl")
_log = logging.getLogger("plugserve")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A parsed endpoint string."""

    kind: str
    port: int = 0
    interface: str | None = None
    backlog: int = 1024
    path: str | None = None
    mode: int | None = None
    private_key: str | None = None
    cert_key: str | None = None
    #: unix: only: guard the socket with a PID lock file, PATH.lock (`wantPID=1`, Twisted's
    #: `lockfile=1`), so that a crashed server's socket is taken over by PID, not by probing.
    want_pid: bool = False

    @property
    def is_tls(self) -> bool:
        """True for ssl: endpoints."""
        return self.kind == "ssl"


def _split(text: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_endpoint(description: str) -> Endpoint:
    """Parse an endpoint string; a bad one raises UsageError naming the problem and the form."""
    parts = _split(description)
    kind = parts[0].lower()
    if kind not in _KINDS or len(parts) < 2:
        raise UsageError(
            f"bad endpoint {description!r}: expected tcp:PORT, tcp6:PORT, unix:PATH or "
            "ssl:PORT:privateKey=KEY.pem:certKey=CERT.pem"
        )
    positional = [p for p in parts[1:] if "=" not in p]
    if len(positional) > 1:
        # Never drop a part silently: `tcp6:0:interface=::1` would bind every interface.
        raise UsageError(
            f"bad endpoint {description!r}: unexpected {':'.join(positional[1:])!r}; options "
            "are name=value, and a colon inside a value is written \\: "
            "(tcp6:8080:interface=\\:\\:1)"
        )
    named = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    if kind == "unix":
        path = named.pop("address", positional[0] if positional else None)
        if not path:
            raise UsageError(f"bad endpoint {description!r}: unix: needs a path")
        mode = _number(description, "mode", named.pop("mode"), octal=True) if "mode" in named \
            else None
        backlog = _number(description, "backlog", named.pop("backlog", "1024"))
        want_pid = _flag(description, named, "wantPID") | _flag(description, named, "lockfile")
        _no_extra(description, named)
        return Endpoint("unix", path=os.path.expanduser(path), mode=mode, backlog=backlog,
                        want_pid=want_pid)
    port_text = named.pop("port", positional[0] if positional else None)
    if port_text is None:
        raise UsageError(f"bad endpoint {description!r}: {kind}: needs a port")
    endpoint = Endpoint(
        kind,
        port=_number(description, "port", port_text, high=65535),
        interface=named.pop("interface", None),
        backlog=_number(description, "backlog", named.pop("backlog", "1024")),
        # Only ssl: takes a key; on tcp: it would be ignored and the port served in clear.
        private_key=named.pop("privateKey", None) if kind == "ssl" else None,
        cert_key=named.pop("certKey", None) if kind == "ssl" else None,
    )
    _no_extra(description, named)
    if kind == "ssl" and not endpoint.private_key:
        raise UsageError(f"bad endpoint {description!r}: ssl: needs privateKey=KEY.pem")
    return endpoint


def _number(
    description: str, name: str, text: str, *, high: int | None = None, octal: bool = False
) -> int:
    """`text` as a non-negative integer (plain digits only), else a UsageError naming `name`."""
    digits = "01234567" if octal else "0123456789"
    if text and all(c in digits for c in text):
        value = int(text, 8 if octal else 10)
        if high is None or value <= high:
            return value
    expected = ("an octal number such as 0660" if octal
                else f"a number from 0 to {high}" if high is not None else "a whole number")
    raise UsageError(f"bad endpoint {description!r}: {name} must be {expected}, not {text!r}")


def _flag(description: str, named: dict[str, str], name: str) -> bool:
    """Pop a 0/1 option (Twisted's integer booleans), False when absent."""
    text = named.pop(name, "0")
    if text not in ("0", "1"):
        raise UsageError(f"bad endpoint {description!r}: {name} must be 0 or 1, not {text!r}")
    return text == "1"


def _no_extra(description: str, named: dict[str, str]) -> None:
    if named:
        raise UsageError(f"bad endpoint {description!r}: unknown option(s) {', '.join(named)}")


def _ssl_context(endpoint: Endpoint) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert endpoint.private_key is not None
    try:
        context.load_cert_chain(endpoint.cert_key or endpoint.private_key, endpoint.private_key)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot load the TLS key/certificate: {exc}") from None
    context.set_alpn_protocols(["http/1.1"])
    return context


async def listen(
    endpoint: Endpoint, factory: Callable[[], asyncio.Protocol]
) -> tuple[list[asyncio.AbstractServer], list[str]]:
    """Start listening; return the servers (one per socket) and the URLs really listened on.

    The sockets are `bind_sockets`' (the same a `--workers` supervisor binds), served by this
    module's acceptor, which takes up to the backlog's worth of connections per wake-up, as
    asyncio's own server does."""
    return await listen_on(endpoint, bind_sockets(endpoint), factory,
                           accept_burst=endpoint.backlog)


def _host(endpoint: Endpoint) -> str:
    return endpoint.interface or ("::" if endpoint.kind == "tcp6" else "0.0.0.0")


def _remove_stale_socket(path: str) -> None:
    """A socket file left by an earlier run is replaced; one a server still listens on, or any
    other file, is an error (`Address ... is already in use`, or bind's own).  Twisted's
    `lockfile=` guards the same case with a lock file; a connection attempt asks the socket
    itself, and needs no file a crash could leave behind."""
    if not (os.path.exists(path) and stat.S_ISSOCK(os.stat(path).st_mode)):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            os.unlink(path)  # nobody listens: left by a server that is gone
            return
        except OSError:
            return  # cannot tell (permissions, a full backlog): leave it, bind says why
    raise OSError(errno.EADDRINUSE, f"Address {path!r} is already in use by a running server")


def socket_urls(endpoint: Endpoint, sockets: Iterable[socket.socket]) -> list[str]:
    """The URLs of an endpoint's listening sockets, with the ports they really got."""
    if endpoint.kind == "unix":
        return [f"http+unix://{endpoint.path}"]
    scheme = "https" if endpoint.is_tls else "http"
    urls = []
    for sock in sockets:
        address = sock.getsockname()
        shown = f"[{address[0]}]" if sock.family == socket.AF_INET6 else address[0]
        urls.append(f"{scheme}://{shown}:{address[1]}")
    return urls


def bind_sockets(endpoint: Endpoint) -> list[socket.socket]:
    """Create, bind and listen on an endpoint's sockets, without serving them.

    This is what a supervisor does once before it forks its workers (`--workers`), which then
    serve the same sockets with `listen_on`: `tcp:0` is bound once, so every worker has the same
    port, and the kernel queues connections on one socket for whichever worker accepts first.
    The sockets are those `listen` would make: SO_REUSEADDR, IPv6-only for tcp6:, one per
    address the interface resolves to.  An ssl: endpoint's key is loaded here too, so that a
    bad key is reported before any worker starts."""
    if endpoint.is_tls:
        _ssl_context(endpoint)
    if endpoint.kind == "unix":
        return [_bind_unix(endpoint)]
    family = socket.AF_INET6 if endpoint.kind == "tcp6" else socket.AF_INET
    infos = socket.getaddrinfo(_host(endpoint), endpoint.port, family=family,
                               type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for af, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(af, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if af == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:  # asyncio's wording, as `listen` reports it
                raise OSError(exc.errno, f"error while attempting to bind on address "
                              f"{address!r}: {(exc.strerror or str(exc)).lower()}") from None
            sock.listen(endpoint.backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _bind_unix(endpoint: Endpoint) -> socket.socket:
    assert endpoint.path is not None
    if endpoint.want_pid:
        acquire_pid_lock(endpoint.path)
    _remove_stale_socket(endpoint.path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.bind(endpoint.path)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OSError(exc.errno, f"Address {endpoint.path!r} is already in use") from None
            raise
        if endpoint.mode is not None:
            os.chmod(endpoint.path, endpoint.mode)
        sock.listen(endpoint.backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


#: Connections a worker accepts per wake-up of a shared socket.  asyncio's own loop takes up to
#: the backlog, so the first worker awake took every connection queued at that moment (50
#: connections opened at once could all go to one worker); 1 to 4 measured the same.
ACCEPT_BURST: Final = 4
#: How long a worker leaves a connection to a less busy worker (see `listen_on`'s `gate`).
ACCEPT_DEFER_S: Final = 0.002


async def listen_on(
    endpoint: Endpoint, sockets: Sequence[socket.socket], factory: Callable[[], asyncio.Protocol],
    *, accept_burst: int = ACCEPT_BURST, gate: Callable[[], bool] | None = None,
) -> tuple[list[asyncio.AbstractServer], list[str]]:
    """Serve sockets made by `bind_sockets` (in this process or a parent, shared with other
    processes); return the servers and their URLs.  Closing a server closes this process's copy
    of its socket only: connections queued on it wait for the other processes.

    `gate()`, if given, is asked each time a connection waits: False means another process
    should take it, and this one then leaves it ACCEPT_DEFER_S to do so before accepting."""
    loop = asyncio.get_running_loop()
    context = _ssl_context(endpoint) if endpoint.is_tls else None
    servers = [_Acceptor(loop, sock, factory, context, accept_burst, gate) for sock in sockets]
    return list(servers), socket_urls(endpoint, sockets)


class _Acceptor(asyncio.AbstractServer):
    """Accepts up to `burst` connections each time a listening socket is readable, and makes
    each one's transport: at once for plain TCP on asyncio's selector loop, else through
    asyncio's `connect_accepted_socket` (which does the TLS handshake)."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
        factory: Callable[[], asyncio.Protocol], context: ssl.SSLContext | None, burst: int,
        gate: Callable[[], bool] | None = None,
    ) -> None:
        self._loop = loop
        self._sock: socket.socket | None = sock
        self._factory = factory
        self._context = context
        self._burst = burst
        self._gate = gate
        self._deferred = False
        self._tasks: set[asyncio.Task[object]] = set()
        #: The selector loop's transport constructor (asyncio's private `_make_socket_transport`,
        #: what its server calls), when this loop has it; else every connection goes through
        #: the public `connect_accepted_socket`.
        #: Not with a gate: a worker taking connections that fast took up to 32 of 40 opened
        #: at once (tests/test_workers.py), where the task per connection leaves the other
        #: workers time to take their share.
        make = getattr(loop, "_make_socket_transport", None)
        direct = isinstance(loop, asyncio.SelectorEventLoop) and gate is None
        self._make_transport = make if direct else None
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        sock = self._sock
        if sock is None:
            return
        if self._deferred:
            self._deferred = False  # the others left it: take it
        elif self._gate is not None and not self._gate():
            self._deferred = True
            self._loop.remove_reader(sock.fileno())
            self._loop.call_later(ACCEPT_DEFER_S, self._resume)
            return
        for _ in range(self._burst):
            try:
                conn, address = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return  # another process took it, or the queue is empty
            except OSError as exc:
                if exc.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    raise
                # Out of descriptors or memory: the socket stays readable, so stop watching it
                # for a second (as asyncio does) instead of spinning.
                _log.warning("cannot accept connections for now: %s", exc)
                self._loop.remove_reader(sock.fileno())
                self._loop.call_later(1.0, self._resume)
                return
            conn.setblocking(False)
            if self._context is None and self._make_transport is not None:
                self._connect_now(conn, address)
                continue
            task = self._loop.create_task(
                self._loop.connect_accepted_socket(self._factory, conn, ssl=self._context))
            self._tasks.add(task)
            task.add_done_callback(self._connected)

    def _connect_now(self, conn: socket.socket, address: Any) -> None:
        """Make the transport of a plain TCP connection at once.  asyncio's own server does
        the same inside a task per connection, whose task, coroutine and future cost about a
        tenth of the server's CPU time for a `Connection: close` request."""
        try:
            assert self._make_transport is not None
            self._make_transport(conn, self._factory(), extra={"peername": address})
        except Exception:  # noqa: BLE001 - one connection's failure is not the server's
            _log.exception("cannot set up a connection from %s", address)
            conn.close()

    def _connected(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.debug("connection setup failed: %s", task.exception())  # a failed TLS handshake

    def _resume(self) -> None:
        if self._sock is not None:
            self._loop.add_reader(self._sock.fileno(), self._accept)

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            self._loop.remove_reader(sock.fileno())
            sock.close()

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._sock is not None

    async def start_serving(self) -> None:
        """It serves from the start."""

    async def serve_forever(self) -> None:
        while self._sock is not None:
            await asyncio.sleep(1)

    async def wait_closed(self) -> None:
        """Connections being set up when it closed (TLS handshakes) are finished or failed."""
        if self._tasks:
            await asyncio.wait(list(self._tasks))
