"""Poison deliveries on the real RabbitMQ: dead-lettered, and the consumer goes on.

Before: a body of 100,000 nested ``[`` raised ``RecursionError`` out of the
consumer, which died, and died again at every restart on the same delivery.
"""

# kombu is typed only in part.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

import json
from typing import Any

import pytest
from kombu.connection import Connection

from messagebus_django import AsyncMessageBus, AsyncUnitOfWorkTransaction
from messagebus_django.eventstream.broker_consumer import BrokerConsumer
from messagebus_django.eventstream.consumer import Consumer
from messagebus_django.eventstream.models import InboxMessage
from tests.broker.helpers import (
    REGISTERED,
    MakeQueue,
    drain,
    envelope,
    publish_raw,
    requires_broker,
)
from tests.testapp.messages import DocumentRegistered

pytestmark = [requires_broker, pytest.mark.django_db(transaction=True)]

TYPE = REGISTERED


POISON: dict[str, bytes] = {
    "nested": b"[" * 100_000,
    "nested payload": json.dumps({**envelope(), "payload": "[" * 100_000}).encode(),
    "invalid UTF-8": b'{"id": "\xff\xfe"}',
    "wrong types": json.dumps({"id": 1, "type": ["x"], "payload": 3}).encode(),
    "wrong field types": json.dumps(envelope(title={"a": 1}, code=[1])).encode(),
    "huge": json.dumps({**envelope(), "id": "x" * 5_000_000}).encode(),
    "huge list": b"[" + b"1," * 2_500_000 + b"1]",
    "not an object": b"[1, 2, 3]",
    "empty": b"",
}


def test_poison_is_dead_lettered_and_the_next_delivery_is_applied(
    broker: Connection, make_queue: MakeQueue
) -> None:
    queue = make_queue(TYPE)
    seen: list[DocumentRegistered] = []

    async def remember(
        event: DocumentRegistered, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        seen.append(event)

    bus = AsyncMessageBus()
    bus.add_listener(DocumentRegistered, remember)
    for body in POISON.values():
        publish_raw(broker, body, routing_key=TYPE)
    # A payload that tries to pass for another type: its metadata is ignored.
    disguised = envelope(
        metadata={"name": "evil", "schema_version": 9, "published": False}
    )
    publish_raw(broker, json.dumps(disguised).encode(), routing_key=TYPE)
    good = envelope(title="Learning DDD")
    publish_raw(broker, json.dumps(good).encode(), routing_key=TYPE)

    consumer = BrokerConsumer(Consumer(queue, bus=bus, max_attempts=1), types=[TYPE])
    stats = consumer.run(
        should_stop=lambda: False, idle_timeout=0.2, max_messages=len(POISON) + 2
    )

    assert (stats.dead, stats.applied) == (len(POISON), 2)
    assert [event.title for event in seen] == ["Implementing DDD", "Learning DDD"]
    assert seen[0].metadata.name == "document_registered"
    assert seen[0].metadata.schema_version == 1
    assert set(InboxMessage.objects.values_list("type", flat=True)) == {TYPE}
    dead = drain(broker, f"{queue}.dead")
    reasons = dict(zip(POISON, (m.headers["x-dead-reason"] for m in dead), strict=True))
    assert reasons["nested"].startswith("cannot be processed: RecursionError")
    # A text payload is refused before it is parsed: one wire format.
    assert reasons["nested payload"] == "malformed payload: expected an object"
    assert reasons["invalid UTF-8"].startswith("malformed JSON")
    assert reasons["wrong types"] == "unknown message type \"['x']\""
    assert reasons["wrong field types"].startswith("invalid payload: ")
    assert reasons["huge"].startswith("invalid payload: message_id: ")
    assert reasons["huge list"].startswith("malformed envelope")
    assert reasons["not an object"].startswith("malformed envelope")
    assert reasons["empty"].startswith("malformed JSON")
    assert all(len(reason) <= 1000 for reason in reasons.values())
    assert drain(broker, queue) == []  # every delivery settled
