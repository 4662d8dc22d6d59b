"""A RabbitMQ transport on kombu: a durable topic exchange, persistent
messages, publisher confirms. The routing key is the message type
(``<name>_v<version>``), so consumers bind queues to the types they want.

A batch is sent with its confirms pipelined: every message of it is
published, then the broker's ``basic.ack`` / ``basic.nack`` for them are
collected (RabbitMQ acknowledges several at once, ``multiple=True``), all
within one deadline. Only what was acknowledged counts as sent.

Over py-amqp (``amqp://`` URLs: kombu's default AMQP transport), the batch's
``basic.publish`` frames are encoded here (AMQP 0-9-1, the same properties
kombu's ``Producer.publish`` sends) and written to the connection's socket a
few tens of kilobytes at a time, instead of one ``Producer.publish`` (and one
socket write) per message; kombu still makes, checks and closes the
connection and its channel. Any other kombu transport publishes through
``Producer.publish``.
"""

from __future__ import annotations

import contextlib
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, cast

import amqp
from amqp.serialization import dumps as amqp_dumps
from django.core.checks import CheckMessage, Error
from kombu.connection import Connection
from kombu.entity import Exchange
from kombu.exceptions import OperationalError
from kombu.messaging import Producer

from messagebus_django.conf import conf
from messagebus_django.eventstream.transports import (
    Envelope,
    Outcome,
    Transport,
    TransportUnavailable,
)

__all__ = [
    "CONNECTION_ERRORS",
    "KombuTransport",
    "Nacked",
    "dead_letter_exchange",
    "default_broker",
    "topic_exchange",
]

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OperationalError, OSError)


class Nacked(Exception):
    """The broker refused the message (``basic.nack``): an attempt, retried later."""


def default_options() -> Mapping[str, Any]:
    """The ``OPTIONS`` of the ``"default"`` transport: the consumer reads that broker."""
    entry = conf.TRANSPORTS.get("default") or {}
    return cast(Mapping[str, Any], entry.get("OPTIONS") or {})


def default_broker() -> tuple[str | None, str]:
    """The URL and exchange name of the ``"default"`` transport's broker."""
    options = default_options()
    return (
        options.get("url") or conf.BROKER_URL,
        options.get("exchange") or conf.EXCHANGE,
    )


def topic_exchange(name: str) -> Exchange:
    return Exchange(name, type="topic", durable=True)


def dead_letter_exchange(name: str) -> Exchange:
    """Where consumers put what they cannot apply, routed by queue name."""
    return Exchange(f"{name}.dead", type="direct", durable=True)


class KombuTransport(Transport):
    """Publishes to the topic exchange ``exchange`` on the broker at ``url``.

    Its ``OPTIONS`` in ``MESSAGEBUS_TRANSPORTS``: ``url`` (required),
    ``exchange`` (default ``"messagebus"``), ``connect_timeout`` and
    ``publish_timeout`` (seconds; default ``MESSAGEBUS_BROKER_CONNECT_TIMEOUT``
    and ``MESSAGEBUS_PUBLISH_TIMEOUT``).

    Every wait on the broker is bounded: a :meth:`send` or :meth:`send_many`
    as a whole (waiting for the connection another thread uses, connecting,
    each socket read and write, the publishes and their confirms) by its
    ``timeout`` (default ``MESSAGEBUS_PUBLISH_TIMEOUT``), connecting also by
    ``MESSAGEBUS_BROKER_CONNECT_TIMEOUT``. A broker that is connected but
    silent therefore makes :meth:`send` raise :class:`TransportUnavailable`
    (and :meth:`send_many` give that outcome to every envelope it has not
    confirmed) instead of hanging.

    The channel is in confirm mode (``confirm.select``): the broker numbers
    the messages published on it 1, 2, 3... and acknowledges (or, when a
    queue refuses one, nacks) each, several at once when ``multiple`` is
    set. The transport listens through the channel's public ``events``
    callbacks of py-amqp (``basic_ack``, ``basic_nack``).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        exchange: str | None = None,
        connect_timeout: float | None = None,
        publish_timeout: float | None = None,
    ) -> None:
        # Without them: the "default" transport's broker, as the consumer.
        default_url, default_exchange = default_broker()
        url = url or default_url
        if not url:
            raise ValueError(
                'KombuTransport needs OPTIONS["url"] in MESSAGEBUS_TRANSPORTS (or url=...)'
            )
        self.url = url
        self.exchange = topic_exchange(exchange or default_exchange)
        self.connect_timeout = connect_timeout or conf.BROKER_CONNECT_TIMEOUT
        self.publish_timeout = publish_timeout or conf.PUBLISH_TIMEOUT
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._wire: _Wire | None = None
        """Where the batch's frames are written, over py-amqp; else ``None``."""
        self._published = 0
        """Messages published on the current channel: the last delivery tag."""
        self._write_timeout = 0.0
        """The current connection's socket write timeout (``SO_SNDTIMEO``)."""
        self._waiting: OrderedDict[int, int] = OrderedDict()
        """Delivery tag -> index in the batch, of the messages not yet confirmed."""
        self._outcomes: list[Outcome] = []
        self.retry_after = 10.0
        """Seconds to treat the broker as down after a failed connection, so
        requests relaying after commit do not each wait for a timeout."""
        self._down_until = 0.0

    @classmethod
    def check(cls, alias: str, options: Mapping[str, Any]) -> list[CheckMessage]:
        """The broker's ``url`` is required; the timeouts are seconds above 0."""
        messages: list[CheckMessage] = []
        unknown = set(options) - {
            "url",
            "exchange",
            "connect_timeout",
            "publish_timeout",
        }
        if unknown:
            messages.append(
                Error(
                    f"MESSAGEBUS_TRANSPORTS[{alias!r}]: unknown OPTIONS "
                    f"{sorted(unknown)} of the kombu transport.",
                    hint="It takes url, exchange, connect_timeout and publish_timeout.",
                    id="messagebus_django.E013",
                )
            )
        if not (options.get("url") or conf.BROKER_URL):
            messages.append(
                Error(
                    f"MESSAGEBUS_TRANSPORTS[{alias!r}]: the kombu transport needs "
                    'OPTIONS["url"], the broker\'s URL.',
                    hint='e.g. "amqp://guest:guest@127.0.0.1:5672//"',
                    id="messagebus_django.E013",
                )
            )
        for name in ("connect_timeout", "publish_timeout"):
            value = options.get(name)
            if value is not None and not (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and value > 0
            ):
                messages.append(
                    Error(
                        f"MESSAGEBUS_TRANSPORTS[{alias!r}]: OPTIONS[{name!r}] must be "
                        f"a number of seconds above 0, got {value!r}.",
                        id="messagebus_django.E013",
                    )
                )
        return messages

    def _ensure_producer(self, timeout: float) -> Producer:
        if self._producer is None:
            connection = Connection(
                self.url,
                connect_timeout=min(self.connect_timeout, timeout),
                transport_options={
                    # Opening the channel and declaring the exchange wait on
                    # the broker too: bound every socket read and write.
                    "read_timeout": timeout,
                    "write_timeout": timeout,
                },
            )
            # No sleep, and a retry only for the next host of a failover URL:
            # the relay after commit runs on the request's thread.
            retries = 1 if len(connection.alt) > 1 else 0
            try:
                connection.ensure_connection(max_retries=retries, interval_start=0)
                channel: Any = connection.channel()
                # Confirms are collected by send_many, not one publish at a
                # time (kombu's confirm_publish would wait for each).
                channel.confirm_select()
                channel.events["basic_ack"].add(self._on_ack)
                channel.events["basic_nack"].add(self._on_nack)
                self.exchange(channel).declare()
            except BaseException:
                with contextlib.suppress(Exception):
                    connection.collect()
                raise
            self._connection = connection
            self._producer = Producer(channel, exchange=self.exchange)
            self._wire = _Wire.of(connection, channel, self.exchange.name)
            self._published = 0
            self._write_timeout = timeout
        return self._producer

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._confirmed(delivery_tag, multiple, None)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._confirmed(
            delivery_tag,
            multiple,
            Nacked(f"the broker refused message {delivery_tag} (basic.nack)"),
        )

    def _confirmed(self, delivery_tag: int, multiple: bool, outcome: Outcome) -> None:
        waiting = self._waiting
        if not multiple:
            index = waiting.pop(delivery_tag, None)
            if index is not None:
                self._outcomes[index] = outcome
            return
        while waiting:
            tag = next(iter(waiting))
            if tag > delivery_tag:
                break
            self._outcomes[waiting.pop(tag)] = outcome

    def send(self, envelope: Envelope, *, timeout: float | None = None) -> None:
        [outcome] = self.send_many([envelope], timeout=timeout)
        if outcome is not None:
            raise outcome

    def send_many(
        self, envelopes: Sequence[Envelope], *, timeout: float | None = None
    ) -> list[Outcome]:
        """Publish the batch, then collect its confirms, all within ``timeout``.

        An envelope is ``None`` (sent) only once the broker acknowledged it.
        Not acknowledged by the deadline, or the connection lost first:
        :class:`TransportUnavailable` (the broker may have it: the relay sends
        it again, at least once). Nacked: :class:`Nacked` (refused). A
        channel error (e.g. the exchange was deleted) ends the pipelined
        batch; the envelopes it left unconfirmed are then sent one at a time
        on a new channel, so that one refused message does not fail the rest.
        """
        timeout = timeout or self.publish_timeout
        # One deadline for the whole batch, waiting for the lock included.
        deadline = time.monotonic() + timeout
        if not envelopes:
            return []
        # Another thread may be the one waiting on a silent broker.
        if not self._lock.acquire(timeout=timeout):
            busy = TransportUnavailable(
                f"the broker connection was busy for {timeout:g} s"
            )
            return [busy] * len(envelopes)
        try:
            outcomes: list[Outcome] = [None] * len(envelopes)
            refusal = self._pipelined(
                envelopes, range(len(envelopes)), outcomes, deadline
            )
            if refusal is not None:
                # A channel error cut the batch short: the unconfirmed ones
                # again, one at a time, to tell whose refusal it was.
                for index, outcome in enumerate(outcomes):
                    if outcome is _UNCONFIRMED:
                        self._pipelined(envelopes, [index], outcomes, deadline)
            return outcomes
        finally:
            self._waiting.clear()
            self._outcomes = []
            self._lock.release()

    def _pipelined(
        self,
        envelopes: Sequence[Envelope],
        indexes: Sequence[int],
        outcomes: list[Outcome],
        deadline: float,
    ) -> Exception | None:
        """Publish ``envelopes[i]`` for each of ``indexes``, then wait for their confirms.

        Sets ``outcomes[i]`` of each. After a channel error it returns the
        error, and the envelopes it left unconfirmed are :data:`_UNCONFIRMED`.
        """
        for index in indexes:
            outcomes[index] = _UNCONFIRMED
        self._outcomes = outcomes
        self._waiting.clear()
        if time.monotonic() < self._down_until:
            down = TransportUnavailable("the broker was unreachable moments ago")
            for index in indexes:
                outcomes[index] = down
            return None
        published = False
        try:
            producer = self._ensure_producer(_left(deadline))
            # Each socket write is bounded by the connection's write timeout;
            # the batch as a whole by the deadline, checked between publishes.
            bound = self._write_timeout
            wire = self._wire
            if wire is not None:
                published = self._write_frames(
                    wire, envelopes, indexes, outcomes, deadline
                )
            else:
                for index in indexes:
                    envelope = envelopes[index]
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(
                            "the batch's deadline passed while publishing"
                        )
                    producer.publish(
                        envelope.body(),
                        routing_key=envelope.type,
                        content_type="application/json",
                        content_encoding="utf-8",
                        delivery_mode=2,
                        message_id=str(envelope.id),
                        headers={"message_type": envelope.type, **envelope.headers},
                        retry=False,
                        timeout=left if left < bound else None,
                    )
                    published = True
                    self._published += 1
                    self._waiting[self._published] = index
            connection = self._connection
            while self._waiting and connection is not None:
                connection.drain_events(timeout=_left(deadline))
            for index in self._waiting.values():  # no connection to confirm it
                outcomes[index] = TransportUnavailable("the broker did not confirm it")
            return None
        except Exception as exc:
            connection_errors = CONNECTION_ERRORS + tuple(
                getattr(self._connection, "connection_errors", ())
            )
            if isinstance(exc, connection_errors):
                # socket.timeout is an OSError: a silent broker lands here,
                # and so does a deadline passed before every confirm came.
                self._reset(polite=False)
                self._down_until = time.monotonic() + self.retry_after
                lost = TransportUnavailable(f"{type(exc).__name__}: {exc}")
                lost.__cause__ = exc
                for index in indexes:
                    if outcomes[index] is _UNCONFIRMED:
                        outcomes[index] = lost
                return None
            # A refusal (e.g. a channel error: the exchange was deleted)
            # leaves the channel closed or stale: start afresh next time,
            # redeclaring the exchange.
            self._reset()
            if len(indexes) == 1 or not published:
                # Nothing in flight to tell apart: each of them was refused.
                for index in indexes:
                    if outcomes[index] is _UNCONFIRMED:
                        outcomes[index] = exc
                return None
            return exc

    def _write_frames(
        self,
        wire: _Wire,
        envelopes: Sequence[Envelope],
        indexes: Sequence[int],
        outcomes: list[Outcome],
        deadline: float,
    ) -> bool:
        """Publish ``envelopes[i]`` for each of ``indexes``: their frames, a few writes.

        An envelope that cannot be encoded (e.g. a routing key over 255
        bytes) is refused alone. Whether anything was written.
        """
        bound = self._write_timeout
        transport = wire.transport
        waiting = self._waiting
        frames = _Frames(wire)
        published = False
        for index in indexes:
            try:
                frames.add(envelopes[index])
            except Exception as exc:
                outcomes[index] = exc
                continue
            self._published += 1
            waiting[self._published] = index
            if frames.size >= _WRITE_SIZE:
                _write(transport, frames.take(), deadline, bound)
                published = True
        if frames.size:
            _write(transport, frames.take(), deadline, bound)
            published = True
        return published

    def _reset(self, *, polite: bool = True) -> None:
        connection, self._connection, self._producer = self._connection, None, None
        self._wire = None
        self._published = 0
        if connection is None:
            return
        with contextlib.suppress(Exception):  # closing a broken connection
            if polite:
                connection.release()
            else:
                # A polite close waits for the broker's answer: not from a
                # broker that has just failed to answer.
                connection.collect()

    def close(self) -> None:
        with self._lock:
            self._reset()


_UNCONFIRMED = TransportUnavailable("published, not confirmed yet")
"""The outcome of an envelope in flight (identity-compared, never returned)."""


def _left(deadline: float) -> float:
    # Never 0: a zero socket timeout would mean "do not wait at all" for a
    # read that is already due, and None would mean "for ever".
    return max(deadline - time.monotonic(), 0.01)


_WRITE_SIZE = 64 * 1024
"""Bytes of frames gathered before a socket write: the broker starts on the
batch's first messages while the rest are encoded."""

_FRAME_HEADER = struct.Struct(">BHI")
"""A frame's type, channel and payload size; the payload then ends with 0xCE."""
_FRAME_END = b"\xce"
_CONTENT_HEADER = struct.Struct(">HHQH")
"""The content header's class (basic), weight (0), body size and property flags."""
_BASIC = 60
_BASIC_PUBLISH = struct.pack(">HHH", _BASIC, 40, 0)
"""basic.publish (class 60, method 40) and its reserved short."""
_PROPERTY_FLAGS = 0x8000 | 0x4000 | 0x2000 | 0x1000 | 0x0800 | 0x0080
"""content_type, content_encoding, headers, delivery_mode, priority, message_id:
what ``Producer.publish`` sends for the same arguments (priority 0 included)."""
_LONG = struct.Struct(">I")


class _Wire(NamedTuple):
    """A py-amqp connection's socket and the channel the batch is published on."""

    transport: Any
    """py-amqp's transport: ``write`` and ``having_timeout``."""
    channel_id: int
    frame_max: int
    exchange: bytes
    """The exchange name as a short string."""

    @classmethod
    def of(cls, connection: Connection, channel: Any, exchange: str) -> _Wire | None:
        """The wire of ``channel``, when kombu's transport is py-amqp; else ``None``."""
        client = connection.connection
        if not (
            isinstance(client, amqp.Connection) and isinstance(channel, amqp.Channel)
        ):
            return None
        return cls(
            client.transport, channel.channel_id, client.frame_max, _shortstr(exchange)
        )


def _shortstr(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    if len(data) > 255:
        raise ValueError(f"{text[:40]!r}... is over 255 bytes, an AMQP short string")
    return bytes((len(data),)) + data


class _Frames:
    """The ``basic.publish`` frames of envelopes, gathered for a socket write.

    Per envelope: the method frame (exchange, routing key = type), the
    content header (the properties and headers ``Producer.publish`` sends:
    content type and encoding, ``{"message_type": type, **headers}``,
    persistent, priority 0, the message id) and the body, in frames of at most
    the connection's ``frame_max``. What is the same for a type is encoded once.
    """

    def __init__(self, wire: _Wire) -> None:
        self.wire = wire
        self.parts: list[bytes] = []
        self.size = 0
        self.by_type: dict[str, tuple[bytes, bytes]] = {}
        """type -> (its method frame, its message_type header entry)."""
        self.constant = _shortstr("application/json") + _shortstr("utf-8")

    def _of_type(self, type: str) -> tuple[bytes, bytes]:
        found = self.by_type.get(type)
        if found is None:
            wire = self.wire
            method = _BASIC_PUBLISH + wire.exchange + _shortstr(type) + b"\x00"
            frame = (
                _FRAME_HEADER.pack(1, wire.channel_id, len(method))
                + method
                + _FRAME_END
            )
            found = self.by_type[type] = (frame, _table_entry("message_type", type))
        return found

    def add(self, envelope: Envelope) -> None:
        method, message_type = self._of_type(envelope.type)
        headers = envelope.headers
        if not headers:
            table = _LONG.pack(len(message_type)) + message_type
        else:
            merged = {"message_type": envelope.type, **headers}
            try:
                fields = b"".join([_table_entry(*item) for item in merged.items()])
                table = _LONG.pack(len(fields)) + fields
            except TypeError:  # not only text: py-amqp's table encoding
                table = amqp_dumps("F", [merged])
        body = envelope.body()
        properties = b"".join(
            [
                _CONTENT_HEADER.pack(_BASIC, 0, len(body), _PROPERTY_FLAGS),
                self.constant,
                table,
                b"\x02\x00",  # persistent, priority 0
                _shortstr(str(envelope.id)),
            ]
        )
        channel = self.wire.channel_id
        parts = [
            method,
            _FRAME_HEADER.pack(2, channel, len(properties)),
            properties,
            _FRAME_END,
        ]
        chunk = self.wire.frame_max - 8
        for start in range(0, len(body), chunk):
            piece = body[start : start + chunk]
            parts += (_FRAME_HEADER.pack(3, channel, len(piece)), piece, _FRAME_END)
        data = b"".join(parts)
        self.parts.append(data)
        self.size += len(data)

    def take(self) -> bytes:
        """The frames gathered so far, forgotten."""
        data = b"".join(self.parts)
        self.parts = []
        self.size = 0
        return data


def _write(transport: Any, data: bytes, deadline: float, bound: float) -> None:
    """Write ``data`` to py-amqp's socket, within the batch's deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the batch's deadline passed while publishing")
    with transport.having_timeout(left if left < bound else None):
        transport.write(data)


def _table_entry(key: str, value: object) -> bytes:
    """A field of an AMQP table whose value is a (long) string."""
    if not isinstance(value, str):
        raise TypeError(value)
    data = value.encode("utf-8", "surrogatepass")
    return _shortstr(key) + b"S" + _LONG.pack(len(data)) + data
