"""A RabbitMQ transport on kombu: a durable topic exchange, persistent
messages, publisher confirms. The routing key is the message type
(``<name>_v<version>``), so consumers bind queues to the types they want.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import InterfaceError, close_old_connections
from django.db import OperationalError as DatabaseOperationalError
from kombu.connection import Connection
from kombu.entity import Exchange, Queue, binding
from kombu.exceptions import OperationalError
from kombu.messaging import Producer

from ..conf import conf
from . import Envelope, Transport, TransportUnavailable

if TYPE_CHECKING:
    from kombu.message import Message as KombuMessage

    from ..consumer import Consumer, Outcome

__all__ = ["BrokerConsumer", "KombuTransport", "dead_letter_exchange", "topic_exchange"]

logger = logging.getLogger(__name__)

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OperationalError, OSError)
DATABASE_ERRORS = (DatabaseOperationalError, InterfaceError)


def topic_exchange(name: str) -> Exchange:
    return Exchange(name, type="topic", durable=True)


def dead_letter_exchange(name: str) -> Exchange:
    """Where consumers put what they cannot apply, routed by queue name."""
    return Exchange(f"{name}.dead", type="direct", durable=True)


class KombuTransport(Transport):
    """Publishes to ``MESSAGEBUS_EXCHANGE`` on ``MESSAGEBUS_BROKER_URL``.

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
        url = url or conf.BROKER_URL
        if not url:
            raise ValueError("KombuTransport needs MESSAGEBUS_BROKER_URL (or url=...)")
        self.url = url
        self.exchange = topic_exchange(exchange or conf.EXCHANGE)
        self.connect_timeout = connect_timeout or conf.BROKER_CONNECT_TIMEOUT
        self.publish_timeout = publish_timeout or conf.PUBLISH_TIMEOUT
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self.retry_after = 10.0
        """Seconds to treat the broker as down after a failed connection, so
        requests relaying after commit do not each wait for a timeout."""
        self._down_until = 0.0

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


@dataclass
class ConsumerStats:
    applied: int = 0
    duplicate: int = 0
    dead: int = 0
    retry: int = 0
    """Deliveries given back to the broker because the database was away."""

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)


class BrokerConsumer:
    """Runs a :class:`~messagebus_django.consumer.Consumer` on a RabbitMQ queue.

    The queue (durable) is bound to the topic exchange for the given message
    types. Each delivery is acknowledged only after its transaction commits;
    a poison one is first republished to ``<exchange>.dead`` (routing key: the
    queue's name, bound to the queue ``<queue>.dead``) with the reason in the
    ``x-dead-reason`` header. So is a delivery that came back unsettled more
    than ``MESSAGEBUS_CONSUMER_MAX_REDELIVERIES`` times: the consumer died on
    it, and would die again. The connection has heartbeats
    (``MESSAGEBUS_BROKER_HEARTBEAT``): a broker that goes silent is dropped
    and reconnected to, like a lost one.
    """

    def __init__(
        self,
        consumer: Consumer,
        *,
        types: Sequence[str],
        url: str | None = None,
        exchange: str | None = None,
        prefetch: int = 10,
    ) -> None:
        url = url or conf.BROKER_URL
        if not url:
            raise ValueError("BrokerConsumer needs MESSAGEBUS_BROKER_URL (or url=...)")
        self.consumer = consumer
        self.url = url
        self.exchange = topic_exchange(exchange or conf.EXCHANGE)
        self.dead_exchange = dead_letter_exchange(exchange or conf.EXCHANGE)
        self.types = list(types)
        self.prefetch = prefetch
        self.stats = ConsumerStats()
        self.handled = 0
        """Deliveries handled by the current :meth:`run`, across reconnections."""
        self.retry_pause = 1.0
        """Seconds to wait after giving a delivery back (the database was away)."""

    def queues(self) -> tuple[Queue, Queue]:
        name = self.consumer.name
        queue = Queue(
            name,
            bindings=[binding(self.exchange, routing_key=t) for t in self.types],
            durable=True,
        )
        dead = Queue(f"{name}.dead", self.dead_exchange, routing_key=name, durable=True)
        return queue, dead

    def run(
        self,
        *,
        should_stop: Callable[[], bool],
        idle_timeout: float = 1.0,
        max_messages: int | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        reconnect_delay: tuple[float, float] = (1.0, 30.0),
    ) -> ConsumerStats:
        """Consume until ``should_stop()`` or ``max_messages`` deliveries.

        A lost or unreachable broker is retried (the wait doubles from the
        first to the longest of ``reconnect_delay``) until ``should_stop()``.
        """
        self.handled = 0
        delay, longest = reconnect_delay
        while not should_stop():
            if max_messages is not None and self.handled >= max_messages:
                break
            connection = Connection(
                self.url,
                connect_timeout=conf.BROKER_CONNECT_TIMEOUT,
                heartbeat=conf.BROKER_HEARTBEAT,
                transport_options={
                    "confirm_publish": True,
                    # Acknowledging, closing: no blocking wait is unbounded.
                    "read_timeout": conf.PUBLISH_TIMEOUT,
                    "write_timeout": conf.PUBLISH_TIMEOUT,
                },
            )
            errors = (*connection.connection_errors, *CONNECTION_ERRORS)
            try:
                self._consume(
                    connection, should_stop, idle_timeout, max_messages, on_outcome
                )
            except errors as exc:
                # A polite close would wait on the broker that just failed.
                with contextlib.suppress(Exception):
                    connection.collect()
                logger.warning(
                    "%s: broker connection failed (%s); retrying in %.0f s",
                    self.consumer.name,
                    exc,
                    delay,
                )
                deadline = time.monotonic() + delay
                while time.monotonic() < deadline and not should_stop():
                    time.sleep(min(0.1, delay))
                delay = min(delay * 2, longest)
                continue
            except BaseException:
                with contextlib.suppress(Exception):
                    connection.collect()
                raise
            with contextlib.suppress(*errors):
                connection.release()
            break
        return self.stats

    def _consume(
        self,
        connection: Connection,
        should_stop: Callable[[], bool],
        idle_timeout: float,
        max_messages: int | None,
        on_outcome: Callable[[Outcome], None] | None,
    ) -> None:
        # One quick try: run() owns the waiting between reconnections.
        connection.ensure_connection(max_retries=1, interval_start=0)
        channel = connection.channel()
        queue, dead = self.queues()
        self.exchange(channel).declare()
        self.dead_exchange(channel).declare()
        queue(channel).declare()
        dead(channel).declare()
        producer = Producer(channel)

        deliveries: deque[KombuMessage] = deque()

        def handle(message: KombuMessage) -> None:
            close_old_connections()
            key = ""
            if message.delivery_info.get("redelivered"):
                key = delivery_key(message)
                outcome = self._check_redelivery(key)
            else:
                outcome = None
            if outcome is None:
                outcome = self.consumer.process(message.body, message.headers or {})
            if outcome.status == "dead":
                headers = dict(message.headers or {})
                headers.update(
                    {
                        "x-dead-reason": outcome.reason[:1000],
                        "x-dead-queue": self.consumer.name,
                    }
                )
                producer.publish(
                    message.body,
                    exchange=self.dead_exchange,
                    routing_key=self.consumer.name,
                    headers=headers,
                    content_type=message.content_type or "application/octet-stream",
                    content_encoding=message.content_encoding or "binary",
                    delivery_mode=2,
                    retry=False,
                    timeout=conf.PUBLISH_TIMEOUT,
                    confirm_timeout=conf.PUBLISH_TIMEOUT,
                )
                logger.error(
                    "%s: dead-lettered a delivery: %s",
                    self.consumer.name,
                    outcome.reason,
                )
            if outcome.status == "retry":
                # The database is away: give it back and slow down.
                message.requeue()
                time.sleep(self.retry_pause)
            else:
                message.ack()
                if key:
                    self._forget_redelivery(key)
            self.stats.count(outcome)
            if on_outcome is not None:
                on_outcome(outcome)

        # Deliveries are only queued by the callback and handled one by
        # one below: waiting for the dead letter's publisher confirm reads
        # the next deliveries, which must not be handled inside it (out of
        # order, past max_messages). The prefetch is set before consuming,
        # or RabbitMQ would not apply it to this consumer.
        with connection.Consumer(
            queue,
            on_message=deliveries.append,
            no_ack=False,
            prefetch_count=self.prefetch,
        ):
            while not should_stop():
                if max_messages is not None and self.handled >= max_messages:
                    break
                if deliveries:
                    handle(deliveries.popleft())
                    self.handled += 1
                    connection.heartbeat_check()
                    continue
                try:
                    connection.drain_events(timeout=idle_timeout)
                except TimeoutError:
                    # Sends ours when due; raises when the broker missed its
                    # own: a silent broker is a lost connection.
                    connection.heartbeat_check()
                    continue
        # Deliveries left unhandled are unacknowledged: the broker
        # requeues them when the connection closes.

    def _check_redelivery(self, key: str) -> Outcome | None:
        """Count a redelivery; the dead :class:`Outcome` once it came back too often.

        The count is committed before the delivery is processed, so it
        survives a consumer that dies processing it.
        """
        from ..consumer import Outcome

        try:
            count = self.consumer.count_redelivery(key)
        except DATABASE_ERRORS as exc:
            return Outcome("retry", f"database unavailable: {exc}")
        limit = conf.CONSUMER_MAX_REDELIVERIES
        if count > limit:
            return Outcome(
                "dead",
                f"redelivered {count} times without being settled (more than "
                f"MESSAGEBUS_CONSUMER_MAX_REDELIVERIES = {limit}): the consumer "
                "probably died processing it",
            )
        return None

    def _forget_redelivery(self, key: str) -> None:
        try:
            self.consumer.forget_redelivery(key)
        except DATABASE_ERRORS as exc:  # a stale count only costs a redelivery
            logger.warning(
                "%s: could not clear a redelivery count: %s", self.consumer.name, exc
            )


def delivery_key(message: KombuMessage) -> str:
    """What identifies a delivery across redeliveries: its message id, or its body."""
    message_id = message.properties.get("message_id")
    if message_id:
        return str(message_id)[:255]
    body = message.body
    raw = body if isinstance(body, bytes) else str(body).encode("utf-8", "replace")
    return f"sha256:{hashlib.sha256(raw).hexdigest()}"
