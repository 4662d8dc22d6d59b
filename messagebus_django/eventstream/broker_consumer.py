"""The consumer on RabbitMQ: a :class:`~messagebus_django.eventstream.consumer.Consumer`
fed by a durable queue bound to the topic exchange, with a dead-letter queue.

It sits beside the consumer, not among the transports: a transport only sends;
the wire parts it shares with :class:`KombuTransport` (the exchanges, the
broker of the ``"default"`` transport) come from
:mod:`messagebus_django.eventstream.transports.kombu`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import InterfaceError, close_old_connections
from django.db import OperationalError as DatabaseOperationalError
from kombu.connection import Connection
from kombu.entity import Queue, binding
from kombu.messaging import Producer

from messagebus_django.conf import conf
from messagebus_django.eventstream.consumer import Outcome
from messagebus_django.eventstream.transports.kombu import (
    CONNECTION_ERRORS,
    dead_letter_exchange,
    default_broker,
    topic_exchange,
)

if TYPE_CHECKING:
    from kombu.message import Message as KombuMessage

    from messagebus_django.eventstream.consumer import Consumer

__all__ = ["BrokerConsumer", "ConsumerStats", "delivery_key"]

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (DatabaseOperationalError, InterfaceError)


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
    """Runs a :class:`~messagebus_django.eventstream.consumer.Consumer` on a RabbitMQ queue.

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
        default_url, default_exchange = default_broker()
        url = url or default_url
        if not url:
            raise ValueError(
                "BrokerConsumer needs the broker's URL: "
                'MESSAGEBUS_TRANSPORTS["default"]["OPTIONS"]["url"] (or url=...)'
            )
        self.consumer = consumer
        self.url = url
        self.exchange = topic_exchange(exchange or default_exchange)
        self.dead_exchange = dead_letter_exchange(exchange or default_exchange)
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
