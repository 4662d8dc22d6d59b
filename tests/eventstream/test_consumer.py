"""The consumer: each delivery applied once; poison dead-lettered with a reason."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pytest

from messagebus_django import AsyncMessageBus, AsyncUnitOfWorkTransaction, uuid7
from messagebus_django.eventstream.consumer import Consumer, event_types
from messagebus_django.eventstream.models import InboxMessage
from messagebus_django.models import StoredMessage
from tests.testapp.messages import DocumentRegistered
from tests.testapp.models import Document, DocumentActivity

pytestmark = pytest.mark.django_db


def delivery(**overrides: Any) -> bytes:
    envelope: dict[str, Any] = {
        "id": str(uuid7()),
        "created_at": "2026-11-26T07:00:00+00:00",
        "type": "document_registered_v1",
        "payload": {
            "id": str(uuid7()),
            "code": "9780321125217",
            "title": "Domain Driven Design",
            "author": "Eric Evans",
        },
    }
    envelope.update(overrides)
    return json.dumps(envelope).encode()


failures: list[str] = []


async def mirror_book(
    event: DocumentRegistered, uow: AsyncUnitOfWorkTransaction[Any]
) -> None:
    """Stands for another service's handler: keeps its own copy of the book."""
    if event.title in failures:
        raise RuntimeError(f"cannot mirror {event.title}")
    book = await Document.objects.acreate(
        id=event.id, code=event.code, title=event.title, author=event.author
    )
    await DocumentActivity.objects.acreate(
        document=book, kind="registered", detail="mirrored"
    )


@pytest.fixture
def consumer() -> Consumer:
    failures.clear()
    bus = AsyncMessageBus()
    bus.add_listener(DocumentRegistered, mirror_book)
    return Consumer("mirror", bus=bus, sleep=lambda seconds: None)


def test_event_types_know_the_project_events() -> None:
    assert event_types()["document_registered_v1"] is DocumentRegistered
    assert "register_document_v1" not in event_types()


def test_a_delivery_is_applied_once(consumer: Consumer) -> None:
    body = delivery()
    assert consumer.process(body).status == "applied"
    assert consumer.process(body).status == "duplicate"
    assert Document.objects.count() == 1
    message_id = UUID(json.loads(body)["id"])
    assert list(InboxMessage.objects.values_list("consumer", "message_id")) == [
        ("mirror", message_id)
    ]
    # The consumed event is the producer's: it is neither stored nor re-published here.
    assert not StoredMessage.objects.filter(id=message_id).exists()


def test_another_consumer_applies_it_too(consumer: Consumer) -> None:
    body = delivery()
    assert consumer.process(body).status == "applied"
    other = Consumer("audit", bus=AsyncMessageBus(), sleep=lambda seconds: None)
    assert other.process(body).status == "applied"
    assert InboxMessage.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe", "malformed JSON"),
        (b"[1, 2]", "malformed envelope"),
        (
            json.dumps({"id": "x", "type": "document_registered_v1"}).encode(),
            "malformed envelope",
        ),
        (delivery(type="book_exploded_v1"), "unknown message type 'book_exploded_v1'"),
        (delivery(payload={"id": "not-a-uuid"}), "invalid payload: id: "),
        (delivery(payload="{broken"), "malformed payload: expected an object"),
        (delivery(payload=[1]), "malformed payload: expected an object"),
        (delivery(id="not-a-uuid"), "invalid payload: message_id"),
    ],
)
def test_poison_is_dead_with_a_reason(
    consumer: Consumer, body: bytes, reason: str
) -> None:
    outcome = consumer.process(body)
    assert outcome.status == "dead"
    assert reason in outcome.reason
    assert Document.objects.count() == 0
    assert InboxMessage.objects.count() == 0


def test_a_payload_sent_as_json_text_is_dead(consumer: Consumer) -> None:
    # One wire format: the payload is an object, never JSON text inside JSON.
    payload = json.loads(delivery())["payload"]
    outcome = consumer.process(delivery(payload=json.dumps(payload)))
    assert (outcome.status, outcome.reason) == (
        "dead",
        "malformed payload: expected an object",
    )


def test_a_handler_that_keeps_failing_is_dead_and_later_messages_still_apply(
    consumer: Consumer,
) -> None:
    failures.append("Cursed")
    bad = delivery(payload={**json.loads(delivery())["payload"], "title": "Cursed"})
    outcome = consumer.process(bad)
    assert outcome.status == "dead"
    assert (
        outcome.reason == "handler failed 3 times: RuntimeError: cannot mirror Cursed"
    )
    assert InboxMessage.objects.count() == 0  # rolled back with the handler's writes
    assert consumer.process(delivery()).status == "applied"
    assert Document.objects.count() == 1


def test_a_handler_that_fails_once_is_retried(consumer: Consumer) -> None:
    calls: list[int] = []

    async def flaky(
        event: DocumentRegistered, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        calls.append(1)
        await Document.objects.acreate(
            id=event.id, code=event.code, title=event.title, author=event.author
        )
        if len(calls) == 1:
            raise RuntimeError("deadlock detected")

    bus = AsyncMessageBus()
    bus.add_listener(DocumentRegistered, flaky)
    waits: list[float] = []
    flaky_consumer = Consumer("flaky", bus=bus, sleep=waits.append, retry_delay=0.5)
    assert flaky_consumer.process(delivery()).status == "applied"
    assert (len(calls), waits, Document.objects.count()) == (2, [0.5], 1)


def test_a_database_outage_is_a_retry_not_a_dead_letter(
    consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    from messagebus_django.eventstream import consumer as consumer_module

    async def lost_database(
        event: DocumentRegistered, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    bus = AsyncMessageBus()
    bus.add_listener(DocumentRegistered, lost_database)
    outage = Consumer("outage", bus=bus, sleep=lambda seconds: None)
    monkeypatch.setattr(consumer_module, "_database_usable", lambda using: False)
    outcome = outage.process(delivery())
    assert (outcome.status, outcome.reason) == (
        "retry",
        "database unavailable: server closed the connection unexpectedly",
    )
    # The same error with a healthy database is the message's own: dead.
    monkeypatch.setattr(consumer_module, "_database_usable", lambda using: True)
    assert outage.process(delivery()).status == "dead"


def test_the_database_usable_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import OperationalError, connections

    from messagebus_django.eventstream.consumer import _database_usable

    assert _database_usable("default") is True
    connection = connections["default"]

    def unreachable() -> None:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection, "ensure_connection", unreachable)
    assert _database_usable("default") is False
    monkeypatch.undo()
    monkeypatch.setattr(connection, "is_usable", lambda: False)
    assert _database_usable("default") is False


def test_two_event_classes_with_one_wire_name_are_refused() -> None:
    from messagebus_django import Event, Metadata
    from messagebus_django.operations.introspection import DuplicateMessageTypeError

    class Impostor(Event):
        metadata: Metadata = Metadata(name="document_registered", schema_version=1)

    async def handle(event: Impostor, uow: AsyncUnitOfWorkTransaction[Any]) -> None:
        pass

    bus = AsyncMessageBus()
    bus.add_listener(Impostor, handle)
    with pytest.raises(DuplicateMessageTypeError, match="document_registered_v1"):
        event_types(bus)
