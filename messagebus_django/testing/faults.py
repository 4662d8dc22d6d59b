"""Fault injection: a TCP proxy that can cut or silence the service behind it.

:class:`TcpProxy` listens on 127.0.0.1 on a free port and forwards each
connection to the service (RabbitMQ, PostgreSQL); point the code under test at
the proxy (:meth:`TcpProxy.url_through`) and break the service while it runs.
Four modes:

- **forward**: a transparent pipe;
- **cut**: every open connection is closed, and new ones are accepted and
  closed at once (a broker or database that went away);
- **silence**: connections stay open and new ones are accepted, but nothing
  is read from either side any more (a peer that is connected and does not
  answer: a hung broker, a network that drops packets without resetting).
  What was sent meanwhile waits in the kernel and flows on :meth:`restore`.
- **deaf**: what the client sends still reaches the service, but nothing the
  service answers reaches the client (a broker that takes the publishes and
  whose confirms are lost on the way back).

:attr:`stalled` is set when a client sent something that silence held back:
the client is now waiting for an answer that does not come. :attr:`held` is
set when deaf held back an answer of the service.

Standard library only: importable without Django or pytest. See
``docs/testing.md`` ("Fault injection").
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from types import TracebackType
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["Mode", "TcpProxy"]

Mode = Literal["forward", "cut", "silence", "deaf"]


class TcpProxy:
    """A proxy on 127.0.0.1:``port`` in front of ``upstream_host:upstream_port``.

    A context manager: leaving the block closes it (:meth:`close`).
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode: Mode = "forward"
        self.stalled = threading.Event()
        self.held = threading.Event()
        self.accepted = 0
        self._changed = threading.Condition()
        self._sockets: set[socket.socket] = set()
        self._closing = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(
            target=self._accept, name=f"proxy:{self.port}", daemon=True
        )
        self._thread.start()

    @classmethod
    def in_front_of(cls, url: str, default_port: int) -> TcpProxy:
        """A proxy in front of the host and port of ``url`` (``default_port``
        when it names none), e.g. ``amqp://guest:guest@rabbitmq:5672//``."""
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or default_port)

    def url_through(self, url: str) -> str:
        """``url`` pointing at the proxy instead: scheme, credentials, path and
        query kept."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        address = f"127.0.0.1:{self.port}"
        netloc = f"{credentials}@{address}" if credentials else address
        return parts._replace(netloc=netloc).geturl()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def cut(self) -> None:
        """Close every connection; refuse new ones until :meth:`restore`."""
        with self._changed:
            self.mode = "cut"
            sockets, self._sockets = self._sockets, set()
            self._changed.notify_all()
        for sock in sockets:
            _close(sock)

    def silence(self) -> None:
        """Keep connections open but stop forwarding, until :meth:`restore`."""
        with self._changed:
            self.mode = "silence"
            self.stalled.clear()
            self._changed.notify_all()

    def deafen(self) -> None:
        """Forward what clients send, hold back what the service answers."""
        with self._changed:
            self.mode = "deaf"
            self.held.clear()
            self._changed.notify_all()

    def restore(self) -> None:
        """Forward again (what silence held back flows on)."""
        with self._changed:
            self.mode = "forward"
            self._changed.notify_all()

    def close(self) -> None:
        """Stop listening and close every connection; the proxy is done."""
        with self._changed:
            self._closing = True
            self.mode = "cut"
            sockets, self._sockets = self._sockets, set()
            self._changed.notify_all()
        _close(self._listener)
        for sock in sockets:
            _close(sock)
        self._thread.join(10)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener is closed
            with self._changed:
                if self._closing:
                    _close(client)
                    return
                if self.mode == "cut":
                    _close(client)
                    continue
                self.accepted += 1
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._changed:
                stopped = self._stopped()
                if stopped:
                    # close() or cut() ran while connecting upstream: they did
                    # not see this pair, so it is closed here.
                    _close(client)
                    _close(server)
                    if stopped == "closing":
                        return
                    continue
                self._sockets.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(
                    target=self._pump,
                    args=(source, target, source is client),
                    daemon=True,
                ).start()

    def _stopped(self) -> str:
        """``"closing"``, ``"cut"`` or ``""``: read under the lock, as other threads set them."""
        if self._closing:
            return "closing"
        return "cut" if self.mode == "cut" else ""

    def _pump(
        self, source: socket.socket, target: socket.socket, upstream: bool
    ) -> None:
        try:
            while True:
                readable, _, _ = select.select([source], [], [], 0.05)
                with self._changed:
                    if source not in self._sockets:
                        return
                    if readable and self.mode == "silence":
                        if upstream:
                            self.stalled.set()
                        # Hold back: read nothing until restored or cut.
                        self._changed.wait_for(
                            lambda: self.mode != "silence", timeout=0.5
                        )
                        continue
                    if readable and self.mode == "deaf" and not upstream:
                        self.held.set()
                        self._changed.wait_for(lambda: self.mode != "deaf", timeout=0.5)
                        continue
                if not readable:
                    continue
                data = source.recv(65536)
                if not data:
                    return
                target.sendall(data)
        except (OSError, ValueError):
            return  # the other side or cut() closed it
        finally:
            with self._changed:
                self._sockets.discard(source)
                self._sockets.discard(target)
            _close(source)
            _close(target)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
