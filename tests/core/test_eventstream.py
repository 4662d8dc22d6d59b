"""Serializing and publishing the event stream; the message store's buffer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from messagebus_django.core import (
    AbstractMessageSerializer,
    AsyncEventstreamPublisher,
    AsyncSinkholeEventstreamTransport,
    AsyncSinkholeMessageStoreRepository,
    DefaultMessageSerializer,
    GenericCommand,
    GenericEvent,
    Message,
    Metadata,
)
from tests.core.fakes import FakeUnitOfWork, RecordingMessageStore, RecordingTransport


class Shipped(GenericEvent[Metadata]):
    order_id: UUID
    items: list[str]
    express: bool = False
    metadata: Metadata = Metadata(
        name="order_shipped", schema_version=3, published=True
    )


class Noted(GenericEvent[Metadata]):
    """An internal event: never published."""

    note: str
    metadata: Metadata = Metadata(name="noted", schema_version=1)


class Ship(GenericCommand[Metadata]):
    order_id: UUID
    metadata: Metadata = Metadata(name="ship", schema_version=1, published=True)


ORDER_ID = UUID("0190b4f2-8d1e-7c3a-9e7d-3f2a1b0c4d5e")


def shipped(**overrides: Any) -> Shipped:
    return Shipped(order_id=ORDER_ID, items=["book", "pen"], **overrides)


class NameOnlySerializer(AbstractMessageSerializer):
    def serialize_message(self, message: Message[Any]) -> Mapping[str, Any]:
        return {"name": type(message).__name__}


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def publisher(transport: RecordingTransport) -> AsyncEventstreamPublisher:
    return AsyncEventstreamPublisher(transport)


# serializer -----------------------------------------------------------------


def test_default_serializer_output() -> None:
    message = shipped(created_at=datetime(2024, 5, 1, 10, 30, 15, 123456, tzinfo=UTC))

    serialized = DefaultMessageSerializer().serialize_message(message)

    assert set(serialized) == {"id", "created_at", "type", "payload"}
    assert serialized["id"] == str(message.message_id)
    assert UUID(serialized["id"]) == message.message_id
    assert serialized["created_at"] == "2024-05-01T10:30:15.123456+00:00"
    assert serialized["type"] == "order_shipped_v3"
    # messagebus's form: the payload as JSON text (pydantic's, compact).
    assert serialized["payload"] == (
        f'{{"order_id":"{ORDER_ID}","items":["book","pen"],"express":false}}'
    )


def test_default_serializer_uses_the_instance_metadata() -> None:
    message = shipped(metadata=Metadata(name="sent", schema_version=9, published=True))

    serialized = DefaultMessageSerializer().serialize_message(message)

    assert serialized["type"] == "sent_v9"
    assert "metadata" not in json.loads(serialized["payload"])


# publisher ------------------------------------------------------------------


async def test_publisher_sends_published_messages_only(
    publisher: AsyncEventstreamPublisher, transport: RecordingTransport
) -> None:
    message = shipped()

    await publisher.send_message(Noted(note="internal"))
    await publisher.send_message(message)

    assert transport.sent == [DefaultMessageSerializer().serialize_message(message)]


async def test_publisher_uses_the_default_serializer(
    publisher: AsyncEventstreamPublisher, transport: RecordingTransport
) -> None:
    assert isinstance(publisher.serializer, DefaultMessageSerializer)
    assert publisher.transport is transport


async def test_publisher_uses_the_given_serializer(
    transport: RecordingTransport,
) -> None:
    serializer = NameOnlySerializer()
    publisher = AsyncEventstreamPublisher(transport, serializer)

    await publisher.send_message(shipped())
    await publisher.send_message(Ship(order_id=ORDER_ID))
    await publisher.send_message(Noted(note="internal"))

    assert publisher.serializer is serializer
    assert transport.sent == [{"name": "Shipped"}, {"name": "Ship"}]


async def test_sinkhole_transport_drops_messages() -> None:
    transport = AsyncSinkholeEventstreamTransport()
    publisher = AsyncEventstreamPublisher(transport)

    await transport.send_message_serialized({"id": "x"})
    await publisher.send_message(shipped())
    assert vars(transport) == {}


# message store --------------------------------------------------------------


async def test_message_store_buffers_published_messages_until_published(
    publisher: AsyncEventstreamPublisher, transport: RecordingTransport
) -> None:
    store = RecordingMessageStore(publisher)
    first, note, second = shipped(), Noted(note="n"), shipped(express=True)

    for message in (first, note, second):
        await store.add(message)

    assert store.messages == [first, note, second]
    assert store.stream_buffer == [first, second]
    assert transport.sent == []

    await store.publish_eventstream()

    assert store.stream_buffer == []
    assert [json.loads(sent["payload"])["express"] for sent in transport.sent] == [
        False,
        True,
    ]
    assert [sent["id"] for sent in transport.sent] == [
        str(first.message_id),
        str(second.message_id),
    ]

    await store.publish_eventstream()
    assert len(transport.sent) == 2


async def test_message_store_discards_its_buffer(
    publisher: AsyncEventstreamPublisher, transport: RecordingTransport
) -> None:
    store = RecordingMessageStore(publisher)
    await store.add(shipped())

    store.discard_eventstream()
    await store.publish_eventstream()

    assert store.stream_buffer == []
    assert transport.sent == []
    assert store.messages == [shipped()]


async def test_message_store_without_publisher() -> None:
    store = RecordingMessageStore()
    message = shipped()

    await store.add(message)

    assert store.publisher is None
    assert store.messages == [message]
    assert store.stream_buffer == []

    # Even a buffer filled by hand is emptied without a publisher to send it.
    store.stream_buffer.append(message)
    await store.publish_eventstream()
    assert store.stream_buffer == []


async def test_sinkhole_message_store_keeps_nothing_but_publishes(
    publisher: AsyncEventstreamPublisher, transport: RecordingTransport
) -> None:
    store = AsyncSinkholeMessageStoreRepository(publisher)
    message = shipped()

    await store.add(message)
    await store.publish_eventstream()

    assert [sent["id"] for sent in transport.sent] == [str(message.message_id)]


async def test_transaction_rollback_discards_and_commit_publishes() -> None:
    uow = FakeUnitOfWork()
    async with uow as transaction:
        await transaction.messagestore.add(shipped())
        await transaction.rollback()
    assert uow.messagestore.stream_buffer == []

    committed = shipped(express=True)
    async with uow as transaction:
        await transaction.messagestore.add(Noted(note="n"))
        await transaction.messagestore.add(committed)
        assert uow.transport.sent == []
        await transaction.commit()

    assert [sent["id"] for sent in uow.transport.sent] == [str(committed.message_id)]
