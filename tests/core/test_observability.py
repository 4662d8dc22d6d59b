"""The metrics-store port: what transactions and the bus report."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from messagebus_django.core import (
    AbstractMetricsStore,
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    Command,
    GenericCommand,
    Metadata,
    SinkholeMetricsStore,
    TransactionError,
    TransactionStatus,
)
from tests.core.fakes import FakeUnitOfWork


class RecordingMetricsStore(AbstractMetricsStore):
    """Keeps every report, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def inc_beginned_transaction_count(self) -> None:
        self.calls.append(("begin", None))

    def inc_transaction_failed(self) -> None:
        self.calls.append(("failed", None))

    def inc_transaction_closed_count(self, status: TransactionStatus) -> None:
        self.calls.append(("closed", status))

    def inc_messages_processed_total(self, msg_metadata: Metadata) -> None:
        self.calls.append(("processed", msg_metadata.name))

    @contextmanager
    def command_processing_timer(self, command: GenericCommand[Any]) -> Iterator[None]:
        self.calls.append(("timer", command.metadata.name))
        yield
        self.calls.append(("timed", command.metadata.name))


class Measured(Command):
    metadata: Metadata = Metadata(name="measured", schema_version=2)


class MeasuredUnitOfWork(FakeUnitOfWork):
    metrics_store: RecordingMetricsStore

    def __init__(self) -> None:
        super().__init__()
        self.metrics_store = RecordingMetricsStore()


async def on_measured(
    command: Measured, transaction: AsyncUnitOfWorkTransaction[Any]
) -> str:
    return "done"


async def test_a_committed_command_is_reported() -> None:
    bus = AsyncMessageBus[MeasuredUnitOfWork]()
    bus.add_listener(Measured, on_measured)
    uow = MeasuredUnitOfWork()
    async with uow as transaction:
        assert transaction.metrics_store is uow.metrics_store
        await bus.handle(Measured(), transaction)
        await transaction.commit()
    assert uow.metrics_store.calls == [
        ("begin", None),
        ("timer", "measured"),
        ("processed", "measured"),
        ("timed", "measured"),
        ("closed", TransactionStatus.committed),
    ]


async def test_a_failed_block_is_reported_failed_then_rolled_back() -> None:
    uow = MeasuredUnitOfWork()
    with pytest.raises(ValueError, match="boom"):
        async with uow:
            raise ValueError("boom")
    assert uow.metrics_store.calls == [
        ("begin", None),
        ("failed", None),
        ("closed", TransactionStatus.rolledback),
    ]


async def test_a_transaction_left_open_is_not_reported_closed() -> None:
    # As messagebus does: only the start is counted.
    uow = MeasuredUnitOfWork()
    with pytest.raises(TransactionError, match="left open"):
        async with uow:
            pass
    assert uow.metrics_store.calls == [("begin", None)]
    assert uow.log == ["rollback"]


async def test_a_detached_transaction_is_reported_when_closed() -> None:
    uow = MeasuredUnitOfWork()
    async with uow as transaction:
        await transaction.detach()
    assert uow.metrics_store.calls == [("begin", None)]
    await transaction.close()
    assert uow.metrics_store.calls[-1] == ("closed", TransactionStatus.rolledback)


def test_the_default_store_keeps_nothing() -> None:
    store = FakeUnitOfWork().metrics_store
    assert type(store) is SinkholeMetricsStore
    store.inc_beginned_transaction_count()
    store.inc_transaction_failed()
    store.inc_transaction_closed_count(TransactionStatus.committed)
    store.inc_messages_processed_total(Measured().metadata)
    with store.command_processing_timer(Measured()):
        pass
    # The Django layer's reports default to nothing too.
    store.observe_dispatch("measured_v2", "committed", 0.1, ["measured_v2"])
    store.observe_relay([], [], [], None)
