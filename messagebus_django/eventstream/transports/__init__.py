"""Transports: how the relay sends outbox messages to a broker.

Configured the way Django configures caches: ``MESSAGEBUS_TRANSPORTS`` is a
dict of named entries, each with a ``BACKEND`` (the dotted path of a
:class:`Transport` class) and its ``OPTIONS`` (keyword arguments of the
class); :data:`transports` makes each on first use.

A transport's :meth:`~Transport.send` raises :class:`TransportUnavailable` when
the broker cannot be reached or did not answer within the timeout (the message
is retried later and this does not count as an attempt), and any other
exception when this message was refused (it counts, and after
``MESSAGEBUS_RELAY_MAX_ATTEMPTS`` the message is dead). The relay sends a
batch with :meth:`~Transport.send_many`, which gives the same outcome per
envelope; by default it calls :meth:`~Transport.send` for each.
"""

from __future__ import annotations

import abc
import functools
import inspect
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.core.checks import CheckMessage
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.connection import BaseConnectionHandler
from django.utils.module_loading import import_string

from messagebus_django.conf import conf

if TYPE_CHECKING:
    from messagebus_django.core import Message

__all__ = [
    "Envelope",
    "InMemoryTransport",
    "Outcome",
    "Transport",
    "TransportDoesNotExist",
    "TransportHandler",
    "TransportUnavailable",
    "get_transport",
    "reset_transport",
    "transports",
]

DEFAULT_TRANSPORT = "default"
"""The name of the transport the relay sends through unless told otherwise."""


@dataclass(frozen=True)
class Envelope:
    """A stored event on its way out: its :func:`~messagebus_django.core.eventstream.wire_envelope` plus headers."""

    id: UUID
    type: str
    created_at: datetime
    payload: dict[str, Any]
    headers: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, message: Message[Any]) -> Envelope:
        """The envelope of ``message``, as its stored row would give it."""
        from messagebus_django.dispatching.messagestore import envelope_fields

        fields = envelope_fields(message)
        return cls(
            id=fields["id"],
            type=fields["type"],
            created_at=fields["created_at"],
            payload=fields["payload"],
            headers=fields["headers"],
        )

    def body(self) -> bytes:
        """The JSON body sent to the broker: the text of its :func:`~messagebus_django.core.eventstream.wire_envelope`.

        Written from its parts, in the dict's order, without building the dict:
        the same bytes as ``json.dumps(wire_envelope(...))``, but only the
        payload goes through the encoder (an id and a timestamp need no
        escaping; a type's JSON string is kept).
        """
        payload = self.payload
        try:
            # A payload read back from the store is plain JSON: the C encoder.
            text = json.dumps(payload)
        except TypeError:
            # Built in Python: UUIDs, datetimes, decimals...
            text = json.dumps(dict(payload), cls=DjangoJSONEncoder)
        return self._body_of(text)

    def _body_of(self, payload: str) -> bytes:
        """The body with ``payload``, the payload's JSON text."""
        return (
            f'{{"id": "{self.id}", "created_at": "{self.created_at.isoformat()}", '
            f'"type": {_json_string(self.type)}, "payload": {payload}}}'
        ).encode()


@functools.lru_cache(maxsize=1024)
def _json_string(text: str) -> str:
    """``text`` as a JSON string: a message type, the same for many envelopes."""
    return json.dumps(text)


class TransportUnavailable(Exception):
    """The broker cannot be reached; try again later."""


Outcome = Exception | None
"""What became of one envelope of :meth:`Transport.send_many`: ``None`` when
the broker has it, :class:`TransportUnavailable` when it was not sent (or not
confirmed) for want of a broker, any other exception when it was refused."""


class Transport(abc.ABC):
    """Sends envelopes to the event stream."""

    @abc.abstractmethod
    def send(self, envelope: Envelope, *, timeout: float | None = None) -> None:
        """Send one envelope; return only once the broker has it.

        Wait at most about ``timeout`` seconds (``None``: the transport's own
        bound) for the broker, then raise :class:`TransportUnavailable`.
        """

    def send_many(
        self, envelopes: Sequence[Envelope], *, timeout: float | None = None
    ) -> list[Outcome]:
        """Send ``envelopes`` in order; one :data:`Outcome` per envelope, in order.

        Only an envelope whose outcome is ``None`` may be taken as sent. This
        default calls :meth:`send` for each (each bounded by ``timeout``) and,
        once the broker is unavailable, tries no more: the rest are
        :class:`TransportUnavailable` too. A transport that can pipeline (the
        kombu one: publish the batch, then collect its confirms) overrides it.
        """
        outcomes: list[Outcome] = []
        takes_timeout = _takes_timeout(type(self))
        for envelope in envelopes:
            try:
                if takes_timeout:
                    self.send(envelope, timeout=timeout)
                else:  # a transport written before send() took a timeout
                    self.send(envelope)
            except TransportUnavailable as exc:
                outcomes.extend([exc] * (len(envelopes) - len(outcomes)))
                break
            except Exception as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    def close(self) -> None:  # noqa: B027 - optional
        """Release connections."""

    @classmethod
    def check(cls, alias: str, options: Mapping[str, Any]) -> list[CheckMessage]:
        """System-check messages about the ``OPTIONS`` of the entry ``alias``.

        Called by ``manage.py check`` for each entry of ``MESSAGEBUS_TRANSPORTS``
        whose ``BACKEND`` is this class, without making the transport.
        """
        return []


@functools.cache
def _takes_timeout(transport_class: type[Transport]) -> bool:
    """Whether ``send()`` takes ``timeout``: one written before it did still works."""
    return "timeout" in inspect.signature(transport_class.send).parameters


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


class TransportDoesNotExist(KeyError):
    """No entry of that name in ``MESSAGEBUS_TRANSPORTS``."""


if TYPE_CHECKING:
    _Handler = BaseConnectionHandler[Transport]
else:  # not subscriptable at run time
    _Handler = BaseConnectionHandler


class TransportHandler(_Handler):
    """The transports of ``MESSAGEBUS_TRANSPORTS``, each made on first use.

    Like Django's ``caches``: ``transports["default"]`` imports the entry's
    ``BACKEND`` and calls it with its ``OPTIONS`` as keyword arguments. Unlike
    a cache, one transport serves the whole process (its connection is
    shared by the threads, under the transport's own lock), so they are not
    kept per thread.
    """

    settings_name = "MESSAGEBUS_TRANSPORTS"
    exception_class = TransportDoesNotExist

    def __init__(self, settings: Any | None = None) -> None:
        super().__init__(settings)
        self._lock = threading.Lock()
        self._made: dict[str, Transport] = {}

    def configure_settings(self, settings: dict[str, Any] | None) -> dict[str, Any]:
        return dict(conf.TRANSPORTS if settings is None else settings)

    def create_connection(self, alias: str) -> Transport:
        entry = self.settings[alias]
        backend = import_string(entry["BACKEND"])
        transport: Transport = backend(**entry.get("OPTIONS", {}))
        return transport

    def __getitem__(self, alias: str) -> Transport:
        with self._lock:
            transport = self._made.get(alias)
            if transport is None:
                if alias not in self.settings:
                    raise self.exception_class(
                        f"No transport {alias!r} in MESSAGEBUS_TRANSPORTS."
                    )
                transport = self._made[alias] = self.create_connection(alias)
            return transport

    def __setitem__(self, alias: str, transport: Transport) -> None:
        with self._lock:
            self._made[alias] = transport

    def all(self, initialized_only: bool = False) -> list[Transport]:
        if initialized_only:
            return list(self._made.values())
        return [self[alias] for alias in self]

    def reset(self) -> None:
        """Close every transport made and read the settings again on next use."""
        with self._lock:
            made, self._made = self._made, {}
            self.__dict__.pop("settings", None)
            self._settings = None
        for transport in made.values():
            transport.close()


transports = TransportHandler()
"""The project's transports by name: ``transports["default"]``."""


def get_transport(alias: str = DEFAULT_TRANSPORT) -> Transport | None:
    """The transport ``alias`` of ``MESSAGEBUS_TRANSPORTS``, or ``None`` if there is none."""
    if alias not in transports.settings:
        return None
    return transports[alias]


def reset_transport() -> None:
    """Close and forget the transports; the next :func:`get_transport` makes new ones."""
    transports.reset()


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    # Only what the transports are made from: other settings leave them be.
    if setting in _TRANSPORT_SETTINGS:
        transports.reset()


_TRANSPORT_SETTINGS = frozenset(
    f"MESSAGEBUS_{name}"
    for name in (
        "TRANSPORTS",
        "TRANSPORT",
        "BROKER_URL",
        "EXCHANGE",
        "BROKER_CONNECT_TIMEOUT",
        "PUBLISH_TIMEOUT",
        # The default transport depends on them when MESSAGEBUS_TRANSPORTS is unset.
        "CONSUMERS",
    )
)
