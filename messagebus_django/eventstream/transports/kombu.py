"""A RabbitMQ transport on kombu: a durable topic exchange, persistent
messages, publisher confirms. The routing key is the message type
(``<name>_v<version>``), so consumers bind queues to the types they want.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from typing import Any, cast

from django.core.checks import CheckMessage, Error
from kombu.connection import Connection
from kombu.entity import Exchange
from kombu.exceptions import OperationalError
from kombu.messaging import Producer

from messagebus_django.conf import conf
from messagebus_django.eventstream.transports import (
    Envelope,
    Transport,
    TransportUnavailable,
)

__all__ = [
    "CONNECTION_ERRORS",
    "KombuTransport",
    "dead_letter_exchange",
    "default_broker",
    "topic_exchange",
]

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OperationalError, OSError)


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

    Every wait on the broker is bounded: a :meth:`send` as a whole (waiting
    for the connection another thread uses, connecting, each socket read and
    write, the publish and its confirm) by its ``timeout`` (default
    ``MESSAGEBUS_PUBLISH_TIMEOUT``), connecting also by
    ``MESSAGEBUS_BROKER_CONNECT_TIMEOUT``. A broker that is connected but
    silent therefore makes :meth:`send` raise :class:`TransportUnavailable`
    instead of hanging.
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
                    "confirm_publish": True,
                    # Opening the channel and declaring the exchange wait on
                    # the broker too: bound every socket read and write.
                    "read_timeout": timeout,
                    "write_timeout": timeout,
                },
            )
            # No sleep, and a retry only for the next host of a failover URL:
            # the relay after commit runs on the request's thread.
            retries = 1 if len(connection.alt) > 1 else 0
            connection.ensure_connection(max_retries=retries, interval_start=0)
            channel = connection.channel()
            self.exchange(channel).declare()
            self._connection = connection
            self._producer = Producer(channel, exchange=self.exchange)
        return self._producer

    def send(self, envelope: Envelope, *, timeout: float | None = None) -> None:
        timeout = timeout or self.publish_timeout
        # One deadline for the whole send, waiting for the lock included.
        deadline = time.monotonic() + timeout
        headers: dict[str, Any] = {"message_type": envelope.type, **envelope.headers}
        # Another thread may be the one waiting on a silent broker.
        if not self._lock.acquire(timeout=timeout):
            raise TransportUnavailable(
                f"the broker connection was busy for {timeout:g} s"
            )
        try:
            if time.monotonic() < self._down_until:
                raise TransportUnavailable("the broker was unreachable moments ago")
            try:
                producer = self._ensure_producer(_left(deadline))
                left = _left(deadline)
                producer.publish(
                    envelope.body(),
                    routing_key=envelope.type,
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=2,
                    message_id=str(envelope.id),
                    headers=headers,
                    retry=False,
                    timeout=left,
                    confirm_timeout=left,
                )
            except CONNECTION_ERRORS as exc:
                # socket.timeout is an OSError: a silent broker lands here.
                self._reset(polite=False)
                self._down_until = time.monotonic() + self.retry_after
                raise TransportUnavailable(f"{type(exc).__name__}: {exc}") from exc
            except Exception:
                # A refusal (e.g. a channel error: the exchange was deleted)
                # leaves the channel closed or stale: start afresh next time,
                # redeclaring the exchange.
                self._reset()
                raise
        finally:
            self._lock.release()

    def _reset(self, *, polite: bool = True) -> None:
        connection, self._connection, self._producer = self._connection, None, None
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


def _left(deadline: float) -> float:
    # Never 0: a zero socket timeout would mean "do not wait at all" for a
    # read that is already due, and None would mean "for ever".
    return max(deadline - time.monotonic(), 0.01)
