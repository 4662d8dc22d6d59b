"""An all-sync project: dispatch() runs messagebus's sync bus, with no event loop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from messagebus_django import (
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    ConfigurationError,
    Event,
    Metadata,
    MissingHandlerError,
    SyncUnitOfWorkTransaction,
    TransactionStatus,
    dispatch,
)
from messagebus_django.dispatching.bus import build_bus
from messagebus_django.dispatching.unit_of_work import DjangoSyncUnitOfWork
from tests.core.fakes import (
    AwaitingOnRollback,
    RecordingMetrics,
    RecordingSyncDependency,
)
from tests.django import sync_bus_handlers
from tests.django.commands import Batch, ScratchUnitOfWork, WriteBooks, code_for
from tests.django.sync_bus_handlers import SyncShelve
from tests.testapp.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear() -> Iterator[None]:
    yield
    sync_bus_handlers.received.clear()
    sync_bus_handlers.after_commit.clear()


def project_bus() -> AsyncMessageBus:
    return build_bus(["tests.django.sync_bus_handlers"])


def test_handlers_get_the_sync_transaction_of_the_django_unit_of_work(
    django_capture_on_commit_callbacks: pytest.FixtureRequest,
) -> None:
    uow = ScratchUnitOfWork()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert dispatch(SyncShelve(title="a"), bus=project_bus(), uow=uow) == "a"
    [transaction] = sync_bus_handlers.received
    assert isinstance(transaction, SyncUnitOfWorkTransaction)
    assert isinstance(transaction.uow, DjangoSyncUnitOfWork)
    assert transaction.uow.django_uow is uow
    assert transaction.batches is uow.batches  # the same repositories
    assert transaction.status is TransactionStatus.closed
    assert Document.objects.get().title == "a"
    assert sync_bus_handlers.after_commit == ["a"]
    assert [m.metadata.name for m in uow.handled_messages()] == ["sync_shelve"]


def test_sync_dependencies_hear_how_it_ended(
    django_capture_on_commit_callbacks: pytest.FixtureRequest,
) -> None:
    notifier = RecordingSyncDependency()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        dispatch(
            SyncShelve(title="a"),
            bus=project_bus(),
            uow=ScratchUnitOfWork(),
            shelf_notifier=notifier,
        )
    assert notifier.sent == ["a"]
    assert notifier.ended == ["commit"]


def test_an_async_dependency_works_on_the_sync_path() -> None:
    class AsyncNotifier:
        def __init__(self) -> None:
            self.sent: list[str] = []
            self.ended: list[str] = []

        async def on_after_rollback(self) -> None:
            self.ended.append("rollback")

    def refuse(
        cmd: WriteBooks, transaction: SyncUnitOfWorkTransaction[DjangoSyncUnitOfWork]
    ) -> None:
        raise LookupError("refused")

    notifier = AsyncNotifier()
    bus = project_bus()
    bus.add_listener(WriteBooks, refuse)
    with pytest.raises(LookupError, match="refused"):
        dispatch(
            WriteBooks(titles=["x"]),
            bus=bus,
            uow=ScratchUnitOfWork(),
            shelf_notifier=notifier,
        )
    # Its async hook ran, with no event loop, once the transaction rolled back.
    assert notifier.ended == ["rollback"]


def test_the_sync_path_speaks_django_too() -> None:
    with pytest.raises(MissingHandlerError, match="MESSAGEBUS_HANDLER_MODULES"):
        dispatch(WriteBooks(titles=["x"]), bus=project_bus(), uow=ScratchUnitOfWork())


def test_the_sync_view_refuses_a_bus_with_async_handlers() -> None:
    bus = project_bus()

    async def write(cmd: WriteBooks, uow: AsyncUnitOfWorkTransaction) -> None: ...

    bus.add_listener(WriteBooks, write)
    with (
        pytest.raises(ConfigurationError, match=r"use AsyncMessageBus\.handle"),
        ScratchUnitOfWork().sync_view() as transaction,
    ):
        bus.sync_view().handle(SyncShelve(title="a"), transaction)
    assert not Document.objects.exists()


class Shelved(Event):
    title: str
    metadata: Metadata = Metadata(name="sync_shelved", schema_version=1)


def test_the_all_sync_dispatch_reports_metrics_and_stamps_tracing_ids() -> None:
    def shelve(cmd: SyncShelve, transaction: Any) -> str:
        batch = Batch(titles=[cmd.title])
        batch.messages.append(Shelved(title=cmd.title))
        transaction.batches.seen.append(batch)
        return cmd.title

    def shelved(event: Shelved, transaction: Any) -> None:
        pass

    bus = AsyncMessageBus()
    bus.add_listener(SyncShelve, shelve)
    bus.add_listener(Shelved, shelved)
    assert bus.all_sync
    uow = ScratchUnitOfWork()
    uow.metrics_store = RecordingMetrics()
    command = SyncShelve(title="a")
    assert dispatch(command, bus=bus, uow=uow) == "a"
    assert uow.metrics_store.log == [
        "begin",
        "timing sync_shelve",
        "processed sync_shelve",
        "processed sync_shelved",
        "timed",
        "closed committed",
        "dispatch sync_shelve_v1 committed ['sync_shelve_v1', 'sync_shelved_v1']",
    ]
    stored_command, event = uow.handled_messages()
    assert stored_command.metadata.correlation_id == command.message_id
    assert event.metadata.correlation_id == command.message_id
    assert event.metadata.causation_id == command.message_id


def test_the_handlers_exception_survives_a_failing_rollback_hook() -> None:
    def refuse(cmd: SyncShelve, transaction: Any, shelf_hook: Any) -> None:
        Document.objects.create(code=code_for(cmd.title), title=cmd.title, author="a")
        raise LookupError("refused by the handler")

    bus = AsyncMessageBus()
    bus.add_listener(SyncShelve, refuse)
    assert bus.all_sync
    with pytest.raises(LookupError, match="refused by the handler") as raised:
        dispatch(
            SyncShelve(title="a"),
            bus=bus,
            uow=ScratchUnitOfWork(),
            shelf_hook=AwaitingOnRollback(),
        )
    assert "rolling the transaction back failed" in raised.value.__notes__[0]
    assert not Document.objects.exists()
