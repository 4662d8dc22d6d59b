"""An all-sync project: dispatch() runs messagebus's sync bus, with no event loop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from books.models import Book
from messagebus_django import (
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    ConfigurationError,
    MissingHandlerError,
    SyncDependency,
    SyncUnitOfWorkTransaction,
    TransactionStatus,
    dispatch,
)
from messagebus_django.bus import build_bus
from messagebus_django.unit_of_work import DjangoSyncUnitOfWork
from tests.django import sync_bus_handlers
from tests.django.commands import ScratchUnitOfWork, WriteBooks
from tests.django.sync_bus_handlers import SyncShelve

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear() -> Iterator[None]:
    yield
    sync_bus_handlers.received.clear()
    sync_bus_handlers.after_commit.clear()


class Notifier(SyncDependency):
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.ended: list[str] = []

    def on_after_commit(self) -> None:
        self.ended.append("commit")

    def on_after_rollback(self) -> None:
        self.ended.append("rollback")


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
    assert Book.objects.get().title == "a"
    assert sync_bus_handlers.after_commit == ["a"]
    assert [m.metadata.name for m in uow.handled_messages()] == ["sync_shelve"]


def test_sync_dependencies_hear_how_it_ended(
    django_capture_on_commit_callbacks: pytest.FixtureRequest,
) -> None:
    notifier = Notifier()
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
    assert not Book.objects.exists()
