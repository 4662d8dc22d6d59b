"""Correlation and causation ids, filled in by the bus."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from messagebus_django.core import (
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    GenericCommand,
    GenericEvent,
    Metadata,
    run_without_loop,
)
from messagebus_django.core.tracing import correlation_id
from tests.core.fakes import FakeUnitOfWork, raise_messages

Transaction = AsyncUnitOfWorkTransaction[Any]


class Order(GenericCommand[Metadata]):
    metadata: Metadata = Metadata(name="order", schema_version=1)


class Ordered(GenericEvent[Metadata]):
    metadata: Metadata = Metadata(name="ordered", schema_version=1)


class Shipped(GenericEvent[Metadata]):
    metadata: Metadata = Metadata(name="shipped", schema_version=1)


def order(command: Order, transaction: Transaction) -> None:
    raise_messages(transaction, Ordered())


def ordered(event: Ordered, transaction: Transaction) -> None:
    raise_messages(transaction, Shipped())


def handled(command: Order) -> list[Any]:
    bus = AsyncMessageBus()
    bus.add_listener(Order, order)
    bus.add_listener(Ordered, ordered)
    uow = FakeUnitOfWork()

    async def go() -> None:
        async with uow as transaction:
            await bus.handle(command, transaction)
            await transaction.commit()

    run_without_loop(go())
    return list(uow.messagestore.messages)


def test_a_command_is_its_own_correlation_and_its_events_inherit_it() -> None:
    command = Order()
    first, second, third = handled(command)
    assert first is command
    assert command.metadata.correlation_id == command.message_id
    assert command.metadata.causation_id is None
    assert (second.metadata.correlation_id, second.metadata.causation_id) == (
        command.message_id,
        command.message_id,
    )
    assert (third.metadata.correlation_id, third.metadata.causation_id) == (
        command.message_id,
        second.message_id,
    )


def test_the_current_correlation_id_wins_over_the_commands_own() -> None:
    request_id = UUID("01900000-0000-7000-8000-000000000001")
    token = correlation_id.set(request_id)
    try:
        messages = handled(Order())
    finally:
        correlation_id.reset(token)
    assert {m.metadata.correlation_id for m in messages} == {request_id}


def test_ids_already_set_are_kept() -> None:
    given = UUID("01900000-0000-7000-8000-000000000002")
    command = Order()
    command.metadata = command.metadata.model_copy(update={"correlation_id": given})
    assert {m.metadata.correlation_id for m in handled(command)} == {given}


def test_tracing_ids_do_not_count_in_equality() -> None:
    traced = Ordered()
    traced.metadata = traced.metadata.model_copy(
        update={"correlation_id": given_id(), "causation_id": given_id()}
    )
    assert traced == Ordered()


def given_id() -> UUID:
    return UUID("01900000-0000-7000-8000-000000000003")


def test_a_stamped_metadata_is_a_whole_metadata() -> None:
    [command, *_] = handled(Order())
    metadata = command.metadata
    assert isinstance(metadata, Metadata)
    assert metadata == Metadata(
        name="order",
        schema_version=1,
        correlation_id=command.message_id,
    )
    # model_dump() stays JSON-ready: the tracing ids as text.
    assert metadata.model_dump()["correlation_id"] == str(command.message_id)
    assert json.loads(json.dumps(metadata.model_dump())) == metadata.model_dump()
    assert Metadata.model_validate(metadata.model_dump()) == metadata
    assert {"correlation_id", "causation_id"} <= metadata.model_fields_set
    # The class's default is untouched.
    assert Order.model_fields["metadata"].default.correlation_id is None
