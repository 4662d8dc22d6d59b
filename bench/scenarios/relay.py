"""Scenario 4: the outbox relay to RabbitMQ, against two bare kombu publish loops.

Ours: ``OutboxRelay(KombuTransport(...)).relay_pending()`` over ``size``
outbox rows written beforehand (untimed): it selects them, publishes them and
records them as sent. Baselines, with the same bodies (``Envelope.body()``,
built untimed) and properties, to the same exchange:

- a kombu ``Producer.publish`` loop with a publisher confirm per message
  (what a hand-written publisher does);
- the same loop with no confirms at all: the ceiling of this broker on this
  machine, which gives no guarantee that a message arrived.

A queue bound to the bench exchange receives every message: after each batch
the bench waits (bounded) until it holds the batch, then empties it; both
sides must have delivered as many messages per operation, and the relay must
have marked all its rows sent, or the scenario fails. The exchange and the
queue are bench-only and deleted afterwards. Skipped with a note when the
broker cannot be reached.
"""

from __future__ import annotations

import contextlib
import importlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..context import Context, bench_settings
from ..db import truncate
from ..report import Row
from ..timing import Spent, Timer, compare
from ..work import Ledger, Side, WorkMismatch

SCENARIO = "4. outbox relay to RabbitMQ vs bare kombu publish loops"
EXCHANGE = "messagebus_django.bench"
QUEUE = "messagebus_django.bench.count"
CONFIRMED_TARGET = 1.5
CEILING_TARGET = 0.6
ARRIVAL_TIMEOUT = 30.0


def _kombu() -> Any:
    """kombu, untyped (its hints cover part of its API only)."""
    return importlib.import_module("kombu")


def _events(size: int) -> list[Any]:
    from .inmemory_ours import BookRegistered

    return [
        BookRegistered(
            id=uuid.uuid4(), isbn="9780134494166", title="Clean", author="Martin"
        )
        for _ in range(size)
    ]


class CountingQueue:
    """A queue bound to the bench exchange, to count what each batch delivered."""

    def __init__(self, url: str) -> None:
        from messagebus_django.eventstream.transports.kombu import topic_exchange

        kombu = _kombu()
        self.connection = kombu.Connection(url, connect_timeout=3)
        self.connection.ensure_connection(max_retries=1)
        self.channel = self.connection.channel()
        exchange: Any = topic_exchange(EXCHANGE)
        exchange(self.channel).declare()
        kombu.Queue(QUEUE, exchange, routing_key="#", durable=False)(
            self.channel
        ).declare()

    def messages(self) -> int:
        return int(self.channel.queue_declare(queue=QUEUE, passive=True).message_count)

    def drain(self, expected: int) -> int:
        """Wait until ``expected`` messages arrived (bounded); how many did; empty it."""
        deadline = time.monotonic() + ARRIVAL_TIMEOUT
        count = self.messages()
        while count < expected and time.monotonic() < deadline:
            time.sleep(0.01)
            count = self.messages()
        self.channel.queue_purge(QUEUE)
        return count

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.channel.queue_delete(QUEUE)
        self.connection.release()


def _relay_batch(
    alias: str, url: str, queue: CountingQueue, ledger: Ledger
) -> tuple[Callable[[int], Spent], Any]:
    from messagebus_django.dispatching.messagestore import envelope_fields
    from messagebus_django.eventstream.relay import OutboxRelay
    from messagebus_django.eventstream.transports.kombu import KombuTransport
    from messagebus_django.models import StoredMessage

    transport = KombuTransport(url, exchange=EXCHANGE)
    relay = OutboxRelay(transport, using=alias)

    def batch(size: int) -> Spent:
        rows = [StoredMessage(**envelope_fields(event)) for event in _events(size)]
        StoredMessage.objects.using(alias).bulk_create(rows)
        with Timer() as timer:
            report = relay.relay_pending()
        marked = (
            StoredMessage.objects.using(alias)
            .filter(published_at__isnull=False)
            .count()
        )
        if report.sent != size or marked != size:
            raise WorkMismatch(
                f"the relay sent {report.sent} and marked {marked} sent of {size}: {report}"
            )
        StoredMessage.objects.using(alias).all().delete()
        ledger.add("ours", "messages on the queue", queue.drain(size))
        return timer.spent

    return batch, transport


def _publish_batch(
    url: str, queue: CountingQueue, ledger: Ledger, *, confirms: bool
) -> tuple[Callable[[int], Spent], Any]:
    from messagebus_django.eventstream.transports import Envelope
    from messagebus_django.eventstream.transports.kombu import topic_exchange

    kombu = _kombu()
    options = {"confirm_publish": True} if confirms else {}
    connection = kombu.Connection(url, transport_options=options)
    connection.ensure_connection(max_retries=1)
    channel = connection.channel()
    exchange: Any = topic_exchange(EXCHANGE)
    exchange(channel).declare()
    producer = kombu.Producer(channel, exchange=exchange)
    side: Side = "baseline"

    def batch(size: int) -> Spent:
        envelopes = [Envelope.of(event) for event in _events(size)]
        messages = [
            (envelope.body(), envelope.type, str(envelope.id)) for envelope in envelopes
        ]
        with Timer() as timer:
            for body, routing_key, message_id in messages:
                producer.publish(
                    body,
                    routing_key=routing_key,
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=2,
                    message_id=message_id,
                    headers={"message_type": routing_key},
                    retry=False,
                )
        ledger.add(side, "messages on the queue", queue.drain(size))
        return timer.spent

    return batch, connection


def broker_error(url: str) -> str | None:
    try:
        with _kombu().Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def delete_exchange(url: str) -> None:
    kombu = _kombu()
    with kombu.Connection(url, connect_timeout=3) as connection:
        kombu.Exchange(EXCHANGE, type="topic")(connection.channel()).delete()


BASELINES = (
    (
        True,
        "vs a publish loop with a confirm per message",
        CONFIRMED_TARGET,
    ),
    (
        False,
        "vs a publish loop with no confirms (the broker's ceiling)",
        CEILING_TARGET,
    ),
)


def run(context: Context) -> list[Row]:
    why = broker_error(context.broker_url)
    if why is not None:
        return [
            Row(
                SCENARIO,
                "relay_pending() over pre-written outbox rows",
                value=f"skipped: the broker is unreachable ({why})",
            )
        ]
    size = context.size(400, 200, smoke=10)
    batches = context.batches(7, 5)
    rows: list[Row] = []
    queue = CountingQueue(context.broker_url)
    try:
        for label, alias in context.databases.items():
            for confirms, versus, target in BASELINES:
                ledger = Ledger(None)
                publish, connection = _publish_batch(
                    context.broker_url, queue, ledger, confirms=confirms
                )
                relay, transport = _relay_batch(
                    alias, context.broker_url, queue, ledger
                )
                try:
                    with bench_settings(alias):
                        comparison = compare(
                            ledger.track("ours", relay),
                            ledger.track("baseline", publish),
                            size=size,
                            batches=batches,
                            warmup=1,
                        )
                finally:
                    transport.close()
                    connection.release()
                    truncate(alias)
                proof = ledger.prove()
                rows.append(
                    Row.compared(
                        SCENARIO,
                        f"{label}: relay_pending() of {size} rows {versus}",
                        comparison,
                        kind="throughput",
                        target=target,
                        note=f"{batches} batches each side, interleaved; {proof}; "
                        "relay rows all marked sent",
                    )
                )
    finally:
        queue.close()
        with contextlib.suppress(Exception):
            delete_exchange(context.broker_url)
    return rows
