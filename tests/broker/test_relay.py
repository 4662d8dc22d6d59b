"""The outbox relay against RabbitMQ: each committed event reaches the queues once."""

# kombu is typed only in part.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

import json
import threading
from io import StringIO
from typing import Any
from uuid import UUID, uuid4

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from kombu.connection import Connection
from kombu.entity import Queue, binding

from messagebus_django import Ok, dispatch
from messagebus_django.eventstream.models import OutboxMessage
from messagebus_django.eventstream.relay import OutboxRelay
from messagebus_django.eventstream.transports import Envelope, reset_transport
from messagebus_django.eventstream.transports.kombu import (
    KombuTransport,
    default_broker,
    topic_exchange,
)
from tests.broker.helpers import MakeQueue, code, drain, register, requires_broker
from tests.testapp.messages import DiscontinueDocument

KOMBU = f"{KombuTransport.__module__}.{KombuTransport.__qualname__}"

pytestmark = [requires_broker, pytest.mark.django_db(transaction=True)]

CLOSED_PORT_URL = "amqp://guest:guest@127.0.0.1:1//"
"""Nothing listens there: the broker is down."""


def test_a_committed_event_reaches_a_bound_queue_once(
    broker: Connection, make_queue: MakeQueue
) -> None:
    queue = make_queue("document_registered_v1")
    command = register()
    assert dispatch(command) == Ok(...)  # relayed right after the commit

    [message] = drain(broker, queue)
    event = OutboxMessage.objects.get()
    assert event.state == "sent"
    assert json.loads(message.body) == {
        "id": str(event.id),
        "created_at": event.created_at.isoformat(),
        "type": "document_registered_v1",
        "payload": {
            "id": str(command.id),
            "code": code(0),
            "title": "Document 0",
            "author": "Eric Evans",
        },
    }
    assert message.properties["delivery_mode"] == 2  # persistent
    assert message.properties["message_id"] == str(event.id)
    assert message.content_type == "application/json"
    assert message.headers["message_type"] == "document_registered_v1"
    assert message.headers["correlation_id"] == str(command.message_id)
    assert message.headers["causation_id"] == str(command.message_id)
    assert message.delivery_info["routing_key"] == "document_registered_v1"
    assert drain(broker, queue) == []


def test_a_queue_gets_only_the_types_it_is_bound_to(
    broker: Connection, make_queue: MakeQueue
) -> None:
    queue = make_queue("document_discontinued_v1")
    command = register()
    dispatch(command)
    assert drain(broker, queue) == []

    dispatch(DiscontinueDocument(id=command.id, reason="Out of print"))
    [message] = drain(broker, queue)
    assert json.loads(message.body)["payload"] == {
        "id": str(command.id),
        "reason": "Out of print",
    }


def test_broker_down_at_commit_the_command_succeeds_and_the_relay_delivers_later(
    broker: Connection, make_queue: MakeQueue
) -> None:
    queue = make_queue("document_registered_v1")
    exchange = default_broker()[1]
    closed = {"url": CLOSED_PORT_URL, "exchange": exchange}
    with override_settings(
        MESSAGEBUS_TRANSPORTS={"default": {"BACKEND": KOMBU, "OPTIONS": closed}}
    ):
        reset_transport()
        assert dispatch(register()) == Ok(...)
        pending = OutboxMessage.objects.get()
        assert (pending.state, pending.attempts) == ("pending", 0)
        with pytest.raises(CommandError, match="broker was unavailable"):
            call_command("messagebus_relay", "--once", stdout=StringIO())
    assert drain(broker, queue) == []

    reset_transport()
    out = StringIO()
    call_command("messagebus_relay", "--once", stdout=out)
    assert "Relay stopped. sent 1, failed 0, dead 0" in out.getvalue()
    [message] = drain(broker, queue)
    assert message.properties["message_id"] == str(pending.id)
    pending.refresh_from_db()
    assert (pending.state, pending.attempts) == ("sent", 1)

    call_command("messagebus_relay", "--once", stdout=StringIO())
    assert drain(broker, queue) == []  # nothing is sent twice


def test_two_relays_racing_over_a_backlog_send_every_message_once(
    broker: Connection, make_queue: MakeQueue
) -> None:
    queue = make_queue("document_registered_v1")
    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        for number in range(40):
            dispatch(register(number))
    expected = set(OutboxMessage.objects.values_list("id", flat=True))
    assert len(expected) == 40

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    sent: list[int] = []

    def run_relay() -> None:
        transport = KombuTransport()  # a connection of its own, like a process
        try:
            barrier.wait()
            sent.append(OutboxRelay(transport, batch_size=4).relay_pending().sent)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            transport.close()
            connection.close()

    threads = [threading.Thread(target=run_relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(sent) == 40

    ids = [UUID(message.properties["message_id"]) for message in drain(broker, queue)]
    assert len(ids) == 40
    assert set(ids) == expected
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()


def test_a_transport_recovers_when_its_exchange_was_deleted(
    broker: Connection,
) -> None:
    """A refusal that closes the channel is counted; the next send starts afresh."""
    name = f"tests.exchange.{uuid4()}"
    queue = Queue(
        f"{name}.queue",
        bindings=[binding(topic_exchange(name), routing_key="#")],
        durable=True,
    ).bind(broker.default_channel)
    transport = KombuTransport(exchange=name)
    envelope = Envelope(
        id=uuid4(), type="thing_v1", created_at=register().created_at, payload={}
    )
    try:
        transport.send(envelope)
        topic_exchange(name).bind(broker.default_channel).delete()
        with pytest.raises(Exception, match="NOT_FOUND"):
            transport.send(envelope)
        transport.send(envelope)  # a new channel, the exchange declared again
        queue.declare()  # its binding went with the exchange
        transport.send(envelope)
        [message] = drain(broker, queue.name)
        assert message.properties["message_id"] == str(envelope.id)
    finally:
        transport.close()
        queue.delete()
        topic_exchange(name).bind(broker.default_channel).delete()


def test_a_batch_is_published_then_confirmed_and_all_of_it_marked_sent(
    broker: Connection, make_queue: MakeQueue
) -> None:
    queue = make_queue("document_registered_v1")
    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        for number in range(30):
            dispatch(register(number))
    transport = KombuTransport()
    try:
        report = OutboxRelay(transport, batch_size=100).relay_once()
    finally:
        transport.close()
    assert (report.fetched, report.sent, report.failed) == (30, 30, 0)
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()
    # In creation order, each once.
    expected = [
        str(pk)
        for pk in OutboxMessage.objects.order_by("created_at", "id").values_list(
            "id", flat=True
        )
    ]
    assert [m.properties["message_id"] for m in drain(broker, queue)] == expected


def test_what_the_broker_nacks_is_not_marked_sent_and_is_retried(
    broker: Connection,
) -> None:
    """A queue that refuses publishes once full (``reject-publish``) makes RabbitMQ nack."""
    exchange = topic_exchange(default_broker()[1])
    full = Queue(
        f"tests.{uuid4()}",
        bindings=[binding(exchange, routing_key="document_registered_v1")],
        durable=True,
        queue_arguments={"x-max-length": 1, "x-overflow": "reject-publish"},
    ).bind(broker.default_channel)
    full.declare()
    try:
        with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
            for number in range(3):
                dispatch(register(number))
        first, second, third = OutboxMessage.objects.order_by("created_at", "id")
        transport = KombuTransport()
        try:
            report = OutboxRelay(transport).relay_once()
            assert (report.sent, report.failed, report.unavailable) == (1, 2, False)
            first.refresh_from_db()
            assert first.state == "sent"
            for row in (second, third):
                row.refresh_from_db()
                assert (row.state, row.attempts) == ("pending", 1)
                assert row.next_attempt_at is not None
                assert "basic.nack" in row.last_error
            [message] = drain(broker, full.name)
            assert message.properties["message_id"] == str(first.id)

            # Room again, and their backoff over: sent, one per pass (the
            # other is refused again while the queue holds one).
            for row in (second, third):
                OutboxMessage.objects.update(next_attempt_at=None)
                assert OutboxRelay(transport).relay_once().sent == 1
                [message] = drain(broker, full.name)
                assert message.properties["message_id"] == str(row.id)
        finally:
            transport.close()
        assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()
    finally:
        full.delete()


def test_beside_the_tasks_transport_both_deliver_the_event(
    broker: Connection, make_queue: MakeQueue, settings: Any
) -> None:
    """RabbitMQ as "default" (other services), the Tasks transport as "local"
    (this project's own consumers): one commit, both deliveries."""
    from django.core.management import call_command as run
    from django_tasks_db.models import DBTaskResult

    from messagebus_django.conf import TASKS_TRANSPORT
    from tests.testapp.models import DocumentActivity

    settings.MESSAGEBUS_TRANSPORTS = {
        "default": settings.MESSAGEBUS_TRANSPORTS["default"],
        "local": {"BACKEND": TASKS_TRANSPORT},
    }
    settings.MESSAGEBUS_CONSUMERS = {
        "testapp.tasks": {"HANDLERS": ["tests.testapp.task_consumers"]}
    }
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    reset_transport()
    queue = make_queue("document_registered_v1")
    assert dispatch(register(7)) == Ok(...)

    [message] = drain(broker, queue)
    event = OutboxMessage.objects.get()
    assert (event.state, event.attempts) == ("sent", 1)
    assert json.loads(message.body)["id"] == str(event.id)
    task = DBTaskResult.objects.get()
    run("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert list(
        DocumentActivity.objects.filter(kind="delivered").values_list(
            "detail", flat=True
        )
    ) == ["Document 7"]
