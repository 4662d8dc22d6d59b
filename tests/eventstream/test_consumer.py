"""The consumer: each delivery applied once; poison dead-lettered with a reason."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pytest

from books.domain.messages import BookRegistered
from books.models import Book, BookActivity
from messagebus_django import AsyncMessageBus, AsyncUnitOfWorkTransaction, uuid7
from messagebus_django.consumer import Consumer, event_types
from messagebus_django.models import InboxMessage, StoredMessage

pytestmark = pytest.mark.django_db


def delivery(**overrides: Any) -> bytes:
    envelope: dict[str, Any] = {
        "id": str(uuid7()),
        "created_at": "2026-11-26T07:00:00+00:00",
        "type": "book_registered_v1",
        "payload": {
            "id": str(uuid7()),
            "isbn": "9780321125217",
            "title": "Domain Driven Design",
            "author": "Eric Evans",
        },
    }
    envelope.update(overrides)
    return json.dumps(envelope).encode()


failures: list[str] = []


async def mirror_book(
    event: BookRegistered, uow: AsyncUnitOfWorkTransaction[Any]
) -> None:
    """Stands for another service's handler: keeps its own copy of the book."""
    if event.title in failures:
        raise RuntimeError(f"cannot mirror {event.title}")
    book = await Book.objects.acreate(
        id=event.id, isbn=event.isbn, title=event.title, author=event.author
    )
    await BookActivity.objects.acreate(book=book, kind="registered", detail="mirrored")


@pytest.fixture
def consumer() -> Consumer:
    failures.clear()
    bus = AsyncMessageBus()
    bus.add_listener(BookRegistered, mirror_book)
    return Consumer("mirror", bus=bus, sleep=lambda seconds: None)


def test_event_types_know_the_project_events() -> None:
    assert event_types()["book_registered_v1"] is BookRegistered
    assert "register_book_v1" not in event_types()


def test_a_delivery_is_applied_once(consumer: Consumer) -> None:
    body = delivery()
    assert consumer.process(body).status == "applied"
    assert consumer.process(body).status == "duplicate"
    assert Book.objects.count() == 1
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
            json.dumps({"id": "x", "type": "book_registered_v1"}).encode(),
            "malformed envelope",
        ),
        (delivery(type="book_exploded_v1"), "unknown message type 'book_exploded_v1'"),
        (delivery(payload={"id": "not-a-uuid"}), "invalid payload: id: "),
        (delivery(payload="{broken"), "malformed payload JSON"),
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
    assert Book.objects.count() == 0
    assert InboxMessage.objects.count() == 0


def test_a_payload_sent_as_json_text_is_accepted(consumer: Consumer) -> None:
    payload = json.loads(delivery())["payload"]
    assert consumer.process(delivery(payload=json.dumps(payload))).status == "applied"


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
    assert Book.objects.count() == 1


def test_a_handler_that_fails_once_is_retried(consumer: Consumer) -> None:
    calls: list[int] = []

    async def flaky(
        event: BookRegistered, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        calls.append(1)
        await Book.objects.acreate(
            id=event.id, isbn=event.isbn, title=event.title, author=event.author
        )
        if len(calls) == 1:
            raise RuntimeError("deadlock detected")

    bus = AsyncMessageBus()
    bus.add_listener(BookRegistered, flaky)
    waits: list[float] = []
    flaky_consumer = Consumer("flaky", bus=bus, sleep=waits.append, retry_delay=0.5)
    assert flaky_consumer.process(delivery()).status == "applied"
    assert (len(calls), waits, Book.objects.count()) == (2, [0.5], 1)


def test_a_database_outage_is_a_retry_not_a_dead_letter(
    consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    from messagebus_django import consumer as consumer_module

    async def lost_database(
        event: BookRegistered, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    bus = AsyncMessageBus()
    bus.add_listener(BookRegistered, lost_database)
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

    from messagebus_django.consumer import _database_usable

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
    from messagebus_django.introspection import DuplicateMessageTypeError

    class Impostor(Event):
        metadata: Metadata = Metadata(name="book_registered", schema_version=1)

    async def handle(event: Impostor, uow: AsyncUnitOfWorkTransaction[Any]) -> None:
        pass

    bus = AsyncMessageBus()
    bus.add_listener(Impostor, handle)
    with pytest.raises(DuplicateMessageTypeError, match="book_registered_v1"):
        event_types(bus)
