"""Transports: how the relay sends outbox messages to a broker.

A transport's :meth:`~Transport.send` raises :class:`TransportUnavailable` when
the broker cannot be reached or did not answer within the timeout (the message
is retried later and this does not count as an attempt), and any other
exception when this message was refused (it counts, and after
``MESSAGEBUS_RELAY_MAX_ATTEMPTS`` the message is dead).
"""

from __future__ import annotations

import abc
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.module_loading import import_string

from ..conf import conf

__all__ = [
    "Envelope",
    "InMemoryTransport",
    "Transport",
    "TransportUnavailable",
    "get_transport",
    "reset_transport",
]


@dataclass(frozen=True)
class Envelope:
    """A message on the wire: ``{"id", "created_at", "type", "payload"}`` plus headers."""

    id: UUID
    type: str
    created_at: datetime
    payload: dict[str, Any]
    headers: dict[str, Any] = field(default_factory=dict)

    def body(self) -> bytes:
        """The JSON body sent to the broker."""
        return json.dumps(
            {
                "id": str(self.id),
                "created_at": self.created_at.isoformat(),
                "type": self.type,
                "payload": self.payload,
            },
            cls=DjangoJSONEncoder,
        ).encode()


class TransportUnavailable(Exception):
    """The broker cannot be reached; try again later."""


class Transport(abc.ABC):
    """Sends envelopes to the event stream."""

    @abc.abstractmethod
    def send(self, envelope: Envelope, *, timeout: float | None = None) -> None:
        """Send one envelope; return only once the broker has it.

        Wait at most about ``timeout`` seconds (``None``: the transport's own
        bound) for the broker, then raise :class:`TransportUnavailable`.
        """

    def close(self) -> None:  # noqa: B027 - optional
        """Release connections."""


class InMemoryTransport(Transport):
    """Keeps what it is sent: for tests and for projects without a broker.

    Set :attr:`available` to ``False`` to act as a broker that is down.
    """

    def __init__(self) -> None:
        self.sent: list[Envelope] = []
        self.available = True
        self.refuse: dict[str, str] = {}
        """``{type: reason}``: envelopes of these types are refused."""

    def send(self, envelope: Envelope, *, timeout: float | None = None) -> None:
        if not self.available:
            raise TransportUnavailable("the in-memory broker is down")
        if envelope.type in self.refuse:
            raise ValueError(self.refuse[envelope.type])
        self.sent.append(envelope)


_lock = threading.Lock()
_transport: Transport | None = None
_transport_key: object = None


def get_transport() -> Transport | None:
    """The transport of ``MESSAGEBUS_TRANSPORT`` (one per process), or ``None``."""
    global _transport, _transport_key
    key = (conf.TRANSPORT, conf.BROKER_URL, conf.EXCHANGE)
    with _lock:
        if _transport is not None and _transport_key == key:
            return _transport
        if _transport is not None:
            _transport.close()
        _transport = None
        path = conf.TRANSPORT
        if path:
            factory = import_string(path)
            _transport = factory()
        _transport_key = key
        return _transport


def reset_transport() -> None:
    """Close and forget the transport; the next :func:`get_transport` makes a new one."""
    global _transport, _transport_key
    with _lock:
        if _transport is not None:
            _transport.close()
        _transport = None
        _transport_key = None
