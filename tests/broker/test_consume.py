"""``messagebus_consume`` on RabbitMQ: the test app's arrivals consumer.

The story: ``DocumentRegistered`` goes dispatch -> outbox -> relay -> RabbitMQ
-> consumer -> handler (``tests.testapp.consumers``, into ``DocumentArrival``),
none lost, none applied twice; poison goes to ``<queue>.dead`` with the reason.
The bookstore's own path (its API to its "new arrivals") is tested in
tests/books/test_consume.py.
"""

# kombu is typed only in part.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from typing import Any
from uuid import UUID

import pytest
from django.core.management import call_command
from django.db import IntegrityError
from django.test import override_settings
from django.utils import timezone
from kombu.connection import Connection

from messagebus_django import Ok, dispatch, uuid7
from messagebus_django.eventstream.management.commands import messagebus_consume
from messagebus_django.eventstream.models import InboxMessage, OutboxMessage
from messagebus_django.eventstream.relay import OutboxRelay
from messagebus_django.eventstream.transports import Envelope
from messagebus_django.eventstream.transports.kombu import KombuTransport
from messagebus_django.operations.shutdown import stop_on_signals
from tests.broker.helpers import (
    REGISTERED,
    MakeQueue,
    consume,
    drain,
    envelope,
    publish_raw,
    register,
    requires_broker,
)
from tests.testapp.models import Document, DocumentArrival

pytestmark = [requires_broker, pytest.mark.django_db(transaction=True)]

TYPE = REGISTERED


def test_the_story_dispatch_outbox_relay_broker_consumer_handler(
    broker: Connection, make_queue: MakeQueue
) -> None:
    queue = make_queue(TYPE)  # the consumer's queue exists before the event
    command = register(1, title="Domain-Driven Design", author="Evans")
    assert dispatch(command) == Ok(...)
    assert OutboxMessage.objects.get().state == "sent"  # relayed after the commit

    out = consume(queue, "--max-messages", "1")
    assert f"Consuming {TYPE} from {queue!r}." in out
    assert "Consumer stopped: applied 1, duplicate 0, dead 0, given back 0." in out
    arrival = DocumentArrival.objects.get()
    assert (arrival.document_id, arrival.code, arrival.title, arrival.author) == (
        command.id,
        command.code,
        "Domain-Driven Design",
        "Evans",
    )
    assert arrival.message_id == OutboxMessage.objects.get().id
    assert InboxMessage.objects.get().consumer == queue
    assert Document.objects.filter(pk=command.id).count() == 1  # the producer's
    assert drain(broker, queue) == []  # acknowledged: nothing is delivered again


def test_a_consumer_declared_in_messagebus_consumers_is_consumed_by_name(
    broker: Connection, make_queue: MakeQueue
) -> None:
    """``--consumer NAME``: the queue, handlers and types of MESSAGEBUS_CONSUMERS."""
    queue = make_queue(TYPE)
    declared = {queue: {"HANDLERS": ["tests.testapp.consumers"], "TYPES": [TYPE]}}
    command = register(2)
    assert dispatch(command) == Ok(...)
    out = StringIO()
    with override_settings(MESSAGEBUS_CONSUMERS=declared):
        call_command(
            "messagebus_consume",
            "--consumer",
            queue,
            "--max-messages",
            "1",
            "--idle-timeout",
            "0.2",
            stdout=out,
        )
    assert f"Consuming {TYPE} from {queue!r}." in out.getvalue()
    assert DocumentArrival.objects.get().document_id == command.id
    assert InboxMessage.objects.get().consumer == queue
    assert drain(broker, queue) == []


class KilledAfterSending(BaseException):
    """Stands for the relay's process dying between the publish and the UPDATE."""


class DiesAfterPublishing(KombuTransport):
    def send(self, envelope: Envelope, *, timeout: float | None = None) -> None:
        super().send(envelope)
        raise KilledAfterSending


def test_a_relay_killed_after_publishing_publishes_again_and_the_consumer_applies_once(
    broker: Connection, make_queue: MakeQueue
) -> None:
    queue = make_queue(TYPE)
    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        command = register()
        dispatch(command)
    dying = DiesAfterPublishing()
    try:
        with pytest.raises(KilledAfterSending):
            OutboxRelay(dying).relay_once()  # nothing marks it sent
    finally:
        dying.close()
    assert OutboxMessage.objects.get().state == "pending"
    # The dead relay's claim expires; then the next relay sends it again.
    OutboxMessage.objects.update(claimed_until=timezone.now())
    call_command("messagebus_relay", "--once", stdout=StringIO())
    assert OutboxMessage.objects.get().state == "sent"

    out = consume(queue, "--max-messages", "2")
    assert "Consumer stopped: applied 1, duplicate 1, dead 0, given back 0." in out
    assert DocumentArrival.objects.filter(document_id=command.id).count() == 1
    assert DocumentArrival.objects.count() == 1
    assert InboxMessage.objects.filter(consumer=queue).count() == 1
    assert drain(broker, queue) == []  # both deliveries acknowledged


def test_poison_goes_to_the_dead_queue_with_its_reason_and_the_rest_is_applied(
    broker: Connection, make_queue: MakeQueue
) -> None:
    queue = make_queue(TYPE)
    taken = uuid7()
    DocumentArrival.objects.create(
        document_id=taken,
        code="TAKEN",
        title="Already here",
        author="Someone",
        message_id=uuid7(),
    )
    unknown = {**envelope(), "type": "nope_v1"}
    invalid = envelope(id="not-a-uuid")
    failing = envelope(id=str(taken))  # its insert hits the unique document_id
    good = envelope(title="Learning DDD")
    bodies = [
        b"{not json",
        json.dumps(unknown).encode(),
        json.dumps(invalid).encode(),
        json.dumps(failing).encode(),
        json.dumps(good).encode(),
    ]
    for body in bodies:
        publish_raw(broker, body, routing_key=TYPE)

    out = consume(queue, "--max-messages", "5", "--max-attempts", "2")
    assert "Consumer stopped: applied 1, duplicate 0, dead 4, given back 0." in out
    assert "dead: nope_v1 (unknown message type 'nope_v1')" in out
    arrival = DocumentArrival.objects.get(title="Learning DDD")
    assert str(arrival.document_id) == good["payload"]["id"]
    assert str(arrival.message_id) == good["id"]
    assert DocumentArrival.objects.count() == 2
    assert list(InboxMessage.objects.values_list("message_id", flat=True)) == [
        UUID(good["id"])
    ]

    dead = drain(broker, f"{queue}.dead")
    # In the order they came; the broker hands back the UTF-8 bodies as text.
    assert [message.body for message in dead] == [b.decode() for b in bodies[:4]]
    reasons = [message.headers["x-dead-reason"] for message in dead]
    assert reasons[0].startswith("malformed JSON: ")
    assert reasons[1] == "unknown message type 'nope_v1'"
    assert reasons[2].startswith("invalid payload: id: ")
    assert reasons[3].startswith(f"handler failed 2 times: {IntegrityError.__name__}")
    assert {message.headers["x-dead-queue"] for message in dead} == {queue}
    assert all(message.properties["delivery_mode"] == 2 for message in dead)
    assert drain(broker, queue) == []  # every delivery acknowledged


def test_max_messages_is_kept_even_when_dead_letters_are_published(
    broker: Connection, make_queue: MakeQueue
) -> None:
    """Waiting for a dead letter's confirm must not handle the next deliveries."""
    queue = make_queue(TYPE)
    bodies = [f"{{not json {number}".encode() for number in range(4)]
    good = envelope()
    for body in [*bodies, json.dumps(good).encode()]:
        publish_raw(broker, body, routing_key=TYPE)

    out = consume(queue, "--max-messages", "2")
    assert "Consumer stopped: applied 0, duplicate 0, dead 2, given back 0." in out
    dead = drain(broker, f"{queue}.dead")
    assert [message.body for message in dead] == [b.decode() for b in bodies[:2]]

    # The rest was left unacknowledged, so it is delivered again, in order.
    out = consume(queue, "--max-messages", "3")
    assert "Consumer stopped: applied 1, duplicate 0, dead 2, given back 0." in out
    dead = drain(broker, f"{queue}.dead")
    assert [message.body for message in dead] == [b.decode() for b in bodies[2:]]
    assert DocumentArrival.objects.get().message_id == UUID(good["id"])


def test_the_consumer_stops_on_sigterm(
    broker: Connection, make_queue: MakeQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = make_queue(TYPE)

    @contextmanager
    def stop_soon() -> Iterator[threading.Event]:
        with stop_on_signals() as stop:  # the handlers are installed: now signal
            timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
            timer.start()
            try:
                yield stop
            finally:
                timer.cancel()

    monkeypatch.setattr(messagebus_consume, "stop_on_signals", stop_soon)
    previous = signal.getsignal(signal.SIGTERM)
    out = consume(queue)  # no --max-messages: runs until the signal
    assert "Consumer stopped: applied 0, duplicate 0, dead 0, given back 0." in out
    assert signal.getsignal(signal.SIGTERM) is previous


def test_a_database_outage_gives_the_delivery_back_and_it_is_applied_later(
    broker: Connection, make_queue: MakeQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    from messagebus_django.eventstream.broker_consumer import BrokerConsumer
    from messagebus_django.eventstream.consumer import Consumer, Outcome

    queue = make_queue(TYPE)
    publish_raw(broker, json.dumps(envelope(title="Outage")).encode(), routing_key=TYPE)
    real_process = Consumer.process
    calls: list[str] = []

    def process_with_one_outage(
        self: Consumer, body: Any, headers: Any = None
    ) -> Outcome:
        calls.append("process")
        if len(calls) == 1:
            return Outcome("retry", "database unavailable: gone", TYPE)
        return real_process(self, body, headers)

    monkeypatch.setattr(Consumer, "process", process_with_one_outage)
    from messagebus_django import AsyncMessageBus

    bus = AsyncMessageBus()  # no handler: applying is the inbox record alone
    consumer = BrokerConsumer(Consumer(queue, bus=bus, max_attempts=1), types=[TYPE])
    consumer.retry_pause = 0
    stats = consumer.run(should_stop=lambda: False, idle_timeout=0.2, max_messages=2)
    assert (stats.retry, stats.applied) == (1, 1)
    assert InboxMessage.objects.filter(consumer=queue).count() == 1
    assert drain(broker, f"{queue}.dead") == []
