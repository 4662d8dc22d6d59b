"""Scenario 4: the outbox relay to RabbitMQ, against a bare kombu publish loop.

Ours: ``OutboxRelay(KombuTransport(...)).relay_pending()`` over ``size``
outbox rows written beforehand (untimed): it selects them, publishes each
with a publisher confirm and records it as sent. Baseline: a kombu
``Producer.publish`` loop with publisher confirms of the same bodies
(``Envelope.body()``, built untimed) with the same properties, to the same
exchange. Both use a bench-only exchange, deleted afterwards. Skipped with a
note when the broker cannot be reached.
"""

from __future__ import annotations

import contextlib
import importlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..context import Context
from ..db import truncate
from ..report import Row
from ..timing import compare

SCENARIO = "4. outbox relay to RabbitMQ vs a bare kombu publish loop (confirms)"
EXCHANGE = "messagebus_django.bench"
TARGET = 0.7


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


def _relay_batch(alias: str, url: str) -> tuple[Callable[[int], float], Any]:
    from messagebus_django.models import StoredMessage
    from messagebus_django.outbox import envelope_fields
    from messagebus_django.relay import OutboxRelay
    from messagebus_django.transports.kombu import KombuTransport

    transport = KombuTransport(url, exchange=EXCHANGE)
    relay = OutboxRelay(transport, using=alias)

    def batch(size: int) -> float:
        rows = [StoredMessage(**envelope_fields(event)) for event in _events(size)]
        StoredMessage.objects.using(alias).bulk_create(rows)
        start = time.perf_counter()
        report = relay.relay_pending()
        elapsed = time.perf_counter() - start
        if report.sent != size:
            raise RuntimeError(f"the relay sent {report.sent} of {size}: {report}")
        StoredMessage.objects.using(alias).all().delete()
        return elapsed

    return batch, transport


def _publish_batch(url: str) -> tuple[Callable[[int], float], Any]:
    from messagebus_django.outbox import envelope_fields
    from messagebus_django.transports import Envelope
    from messagebus_django.transports.kombu import topic_exchange

    kombu = _kombu()
    connection = kombu.Connection(url, transport_options={"confirm_publish": True})
    connection.ensure_connection(max_retries=1)
    channel = connection.channel()
    exchange: Any = topic_exchange(EXCHANGE)
    exchange(channel).declare()
    producer = kombu.Producer(channel, exchange=exchange)

    def batch(size: int) -> float:
        envelopes = []
        for event in _events(size):
            fields = envelope_fields(event)
            envelopes.append(
                Envelope(
                    id=fields["id"],
                    type=fields["type"],
                    created_at=fields["created_at"],
                    payload=fields["payload"],
                )
            )
        messages = [
            (envelope.body(), envelope.type, str(envelope.id)) for envelope in envelopes
        ]
        start = time.perf_counter()
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
        return time.perf_counter() - start

    return batch, connection


def _broker_error(url: str) -> str | None:
    try:
        with _kombu().Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _delete_exchange(url: str) -> None:
    kombu = _kombu()
    with kombu.Connection(url, connect_timeout=3) as connection:
        kombu.Exchange(EXCHANGE, type="topic")(connection.channel()).delete()


def run(context: Context) -> list[Row]:
    why = _broker_error(context.broker_url)
    if why is not None:
        return [
            Row(
                SCENARIO,
                "relay_pending() over pre-written outbox rows",
                value=f"skipped: the broker is unreachable ({why})",
            )
        ]
    size = 200 if context.quick else 400
    batches = context.batches(7, 5)
    rows: list[Row] = []
    publish, connection = _publish_batch(context.broker_url)
    try:
        for label, alias in context.databases.items():
            relay, transport = _relay_batch(alias, context.broker_url)
            try:
                comparison = compare(
                    relay, publish, size=size, batches=batches, warmup=1
                )
            finally:
                transport.close()
                truncate(alias)
            rows.append(
                Row.compared(
                    SCENARIO,
                    f"{label}: relay_pending() of {size} rows (batches of 100)",
                    comparison,
                    kind="throughput",
                    target=TARGET,
                    note=f"{batches} batches each side, interleaved; "
                    f"exchange {EXCHANGE!r} (deleted after)",
                )
            )
    finally:
        connection.release()
        with contextlib.suppress(Exception):
            _delete_exchange(context.broker_url)
    return rows
