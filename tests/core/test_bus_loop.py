"""Corners of the buses' loop: a model raising what is not a message, a timer
that swallows the error, a transaction entered directly that is counted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, cast

import pytest

from messagebus_django.core import (
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    Command,
    Event,
    GenericCommand,
    Message,
    Metadata,
    SyncMessageBus,
    SyncUnitOfWorkTransaction,
    run_without_loop,
    uuid7,
)
from tests.core.fakes import (
    FakeUnitOfWork,
    RecordingMetrics,
    SyncThingsUnitOfWork,
    Thing,
    raise_messages,
)


class Go(Command):
    metadata: Metadata = Metadata(name="go", schema_version=1)


class SwallowingMetrics(RecordingMetrics):
    """A timer that swallows the error of what it times, as a ``with`` may."""

    @contextmanager
    def command_processing_timer(self, command: GenericCommand[Any]) -> Iterator[None]:
        try:
            yield
        except RuntimeError as error:
            self.log.append(f"swallowed {error}")


def raise_not_a_message(command: Go, transaction: Any) -> str:
    # Something with a stamped metadata, as a message has, and no message.
    stamped = Metadata(
        name="x", schema_version=1, correlation_id=uuid7(), causation_id=uuid7()
    )
    impostor = SimpleNamespace(metadata=stamped)
    thing = Thing()
    thing.messages.append(cast(Message[Any], impostor))
    transaction.things.seen.append(thing)
    return "went"


async def async_raise_not_a_message(
    command: Go, transaction: AsyncUnitOfWorkTransaction[Any]
) -> str:
    return raise_not_a_message(command, transaction)


def test_a_model_raising_what_is_not_a_message_is_an_error_async() -> None:
    bus = AsyncMessageBus()
    bus.add_listener(Go, async_raise_not_a_message)

    async def go() -> None:
        async with FakeUnitOfWork() as transaction:
            await bus.handle(Go(), transaction)

    with pytest.raises(RuntimeError, match="was not an Event or Command"):
        run_without_loop(go())


def test_a_model_raising_what_is_not_a_message_is_an_error_sync() -> None:
    bus = SyncMessageBus()
    bus.add_listener(Go, raise_not_a_message)
    with (
        pytest.raises(RuntimeError, match="was not an Event or Command"),
        SyncThingsUnitOfWork() as transaction,
    ):
        bus.handle(Go(), transaction)


def test_a_timer_that_swallows_the_error_ends_handle_as_a_with_block_async() -> None:
    bus = AsyncMessageBus()
    bus.add_listener(Go, async_raise_not_a_message)
    uow = FakeUnitOfWork()
    metrics = uow.metrics_store = SwallowingMetrics()

    async def go() -> Any:
        async with uow as transaction:
            result = await bus.handle(Go(), transaction)
            await transaction.rollback()
        return result

    # The command handler had returned before the error: its result stays.
    assert run_without_loop(go()) == "went"
    assert metrics.log[-2].startswith("swallowed namespace(")


def test_a_timer_that_swallows_the_error_ends_handle_as_a_with_block_sync() -> None:
    bus = SyncMessageBus()
    bus.add_listener(Go, raise_not_a_message)
    uow = SyncThingsUnitOfWork()
    metrics = uow.metrics_store = SwallowingMetrics()
    with uow as transaction:
        assert bus.handle(Go(), transaction) == "went"
        transaction.rollback()
    assert metrics.log[-2].startswith("swallowed namespace(")


def test_a_transaction_entered_directly_is_counted() -> None:
    uow = FakeUnitOfWork()
    metrics = uow.metrics_store = RecordingMetrics()

    async def go() -> None:
        async with AsyncUnitOfWorkTransaction(uow) as transaction:
            await transaction.commit()

    run_without_loop(go())
    with SyncUnitOfWorkTransaction(SyncThingsUnitOfWork()) as transaction:
        transaction.commit()
    assert metrics.log == ["begin", "closed committed"]


class Went(Event):
    metadata: Metadata = Metadata(name="went", schema_version=1)


class CollectingUnitOfWork(FakeUnitOfWork):
    """A unit of work with its own way to collect the events raised."""

    def collect_new_events(self) -> Iterator[Message[Any]]:
        yield from super().collect_new_events()


async def raise_went(command: Go, transaction: AsyncUnitOfWorkTransaction[Any]) -> None:
    raise_messages(transaction, Went())


def test_the_events_of_a_unit_of_work_collecting_its_own_way_are_stamped() -> None:
    bus = AsyncMessageBus()
    bus.add_listener(Go, raise_went)
    uow = CollectingUnitOfWork()
    command = Go()

    async def go() -> None:
        async with uow as transaction:
            await bus.handle(command, transaction)
            await transaction.commit()

    run_without_loop(go())
    [_, went] = uow.messagestore.messages
    assert isinstance(went, Went)
    assert (went.metadata.correlation_id, went.metadata.causation_id) == (
        command.message_id,
        command.message_id,
    )
