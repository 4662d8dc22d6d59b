"""The sync API: SyncMessageBus over a SyncAbstractUnitOfWork, no event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from messagebus_django.core import (
    AsyncMessageBus,
    Command,
    ConfigurationError,
    Event,
    GenericModel,
    Message,
    Metadata,
    MissingDependencyError,
    MissingHandlerError,
    SyncAbstractEventstreamTransport,
    SyncAbstractMessageStoreRepository,
    SyncAbstractRepository,
    SyncAbstractUnitOfWork,
    SyncEventstreamPublisher,
    SyncMessageBus,
    SyncSinkholeEventstreamTransport,
    SyncSinkholeMessageStoreRepository,
    SyncUnitOfWorkTransaction,
    TransactionError,
    TransactionStatus,
)
from tests.core.fakes import (
    AwaitingOnRollback,
    RecordingMetrics,
    RecordingSyncDependency,
)
from tests.core.sync_pkg import handlers as sync_pkg


class Order(GenericModel[Metadata]):
    ref: str


class PlaceOrder(Command):
    ref: str
    metadata: Metadata = Metadata(name="sync_place_order", schema_version=1)


class OrderPlaced(Event):
    ref: str
    metadata: Metadata = Metadata(
        name="sync_order_placed", schema_version=1, published=True
    )


class OrderRepository(SyncAbstractRepository[Order]):
    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[str, Order] = {}

    def add(self, order: Order) -> None:
        self.orders[order.ref] = order
        self.seen.append(order)


class Transport(SyncAbstractEventstreamTransport):
    def __init__(self) -> None:
        self.sent: list[Mapping[str, Any]] = []

    def send_message_serialized(self, message: Mapping[str, Any]) -> None:
        self.sent.append(message)


class MessageStore(SyncAbstractMessageStoreRepository):
    def __init__(self, publisher: SyncEventstreamPublisher | None = None) -> None:
        super().__init__(publisher)
        self.messages: list[Message[Any]] = []

    def _add(self, message: Message[Any]) -> None:
        self.messages.append(message)


class OrdersUnitOfWork(SyncAbstractUnitOfWork[OrderRepository, MessageStore]):
    def __init__(self) -> None:
        self.orders = OrderRepository()
        self.transport = Transport()
        self.messagestore = MessageStore(SyncEventstreamPublisher(self.transport))
        self.log: list[str] = []

    def commit(self) -> None:
        self.log.append("commit")

    def rollback(self) -> None:
        self.log.append("rollback")


Transaction = SyncUnitOfWorkTransaction[OrdersUnitOfWork]


def place_order(command: PlaceOrder, transaction: Transaction) -> str:
    order = Order(ref=command.ref)
    order.messages.append(OrderPlaced(ref=command.ref))
    transaction.uow.orders.add(order)
    return command.ref


def mail_order(
    event: OrderPlaced, transaction: Transaction, mailer: RecordingSyncDependency
) -> None:
    mailer.sent.append(event.ref)


@pytest.fixture
def bus() -> SyncMessageBus[OrdersUnitOfWork]:
    bus = SyncMessageBus[OrdersUnitOfWork]()
    bus.add_listener(PlaceOrder, place_order)
    return bus


def test_a_command_and_its_events_are_handled_without_an_event_loop(
    bus: SyncMessageBus[OrdersUnitOfWork],
) -> None:
    loops: list[bool] = []

    def on_placed(event: OrderPlaced, transaction: Transaction) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            loops.append(False)
        else:  # pragma: no cover - a failure of the sync bus
            loops.append(True)

    bus.add_listener(OrderPlaced, on_placed)
    uow = OrdersUnitOfWork()
    with uow as transaction:
        assert bus.handle(PlaceOrder(ref="A1"), transaction) == "A1"
        transaction.commit()

    assert loops == [False]
    assert list(uow.orders.orders) == ["A1"]
    assert uow.messagestore.messages == [PlaceOrder(ref="A1"), OrderPlaced(ref="A1")]
    # Only the published event reaches the event stream, after commit.
    assert [sent["type"] for sent in uow.transport.sent] == ["sync_order_placed_v1"]
    assert uow.log == ["commit"]
    assert transaction.status is TransactionStatus.closed


def test_a_rollback_drops_the_event_stream(
    bus: SyncMessageBus[OrdersUnitOfWork],
) -> None:
    uow = OrdersUnitOfWork()
    with uow as transaction:
        bus.handle(PlaceOrder(ref="A1"), transaction)
        transaction.rollback()
    assert uow.transport.sent == []
    assert uow.log == ["rollback"]


def test_dependencies_are_given_and_told_how_the_transaction_ended(
    bus: SyncMessageBus[OrdersUnitOfWork],
) -> None:
    bus.add_listener(OrderPlaced, mail_order)
    mailer = RecordingSyncDependency()
    uow = OrdersUnitOfWork()
    with uow as transaction:
        bus.handle(PlaceOrder(ref="A1"), transaction, mailer=mailer)
        transaction.commit()
    assert mailer.sent == ["A1"]
    assert mailer.ended == ["commit"]


def test_a_bus_dependency_factory_is_used(
    bus: SyncMessageBus[OrdersUnitOfWork],
) -> None:
    made: list[RecordingSyncDependency] = []

    def factory() -> RecordingSyncDependency:
        made.append(RecordingSyncDependency())
        return made[-1]

    bus = SyncMessageBus[OrdersUnitOfWork](mailer=factory)
    bus.add_listener(PlaceOrder, place_order)
    bus.add_listener(OrderPlaced, mail_order)
    uow = OrdersUnitOfWork()
    with uow as transaction:
        bus.handle(PlaceOrder(ref="A1"), transaction)
        transaction.rollback()
    [mailer] = made
    assert mailer.sent == ["A1"]
    assert mailer.ended == ["rollback"]


def test_a_missing_dependency_is_named(bus: SyncMessageBus[OrdersUnitOfWork]) -> None:
    bus.add_listener(OrderPlaced, mail_order)
    with (
        pytest.raises(MissingDependencyError) as raised,
        OrdersUnitOfWork() as transaction,
    ):
        bus.handle(PlaceOrder(ref="A1"), transaction)
    assert str(raised.value) == "Missing messagebus dependency 'mailer'"
    assert "SyncMessageBus(mailer=...)" in raised.value.__notes__[0]
    assert transaction.status is TransactionStatus.rolledback


def test_an_unhandled_command_raises() -> None:
    bus = SyncMessageBus[OrdersUnitOfWork]()
    with (
        pytest.raises(MissingHandlerError, match="@sync_listen"),
        OrdersUnitOfWork() as transaction,
    ):
        bus.handle(PlaceOrder(ref="A1"), transaction)


def test_handle_takes_the_transaction_not_the_unit_of_work(
    bus: SyncMessageBus[OrdersUnitOfWork],
) -> None:
    uow: Any = OrdersUnitOfWork()
    with pytest.raises(TypeError, match="takes the transaction"):
        bus.handle(PlaceOrder(ref="A1"), uow)


def test_handle_refuses_what_is_not_a_message(
    bus: SyncMessageBus[OrdersUnitOfWork],
) -> None:
    not_a_message: Any = "PlaceOrder"
    with (
        pytest.raises(RuntimeError, match="PlaceOrder was not an Event or Command"),
        OrdersUnitOfWork() as transaction,
    ):
        bus.handle(not_a_message, transaction)


def test_an_async_handler_is_refused() -> None:
    async def on_placed(event: OrderPlaced, transaction: Transaction) -> None: ...

    bus = SyncMessageBus[OrdersUnitOfWork]()
    with pytest.raises(ConfigurationError, match="register it on an AsyncMessageBus"):
        bus.add_listener(OrderPlaced, on_placed)


def test_the_sync_bus_scans_sync_handlers_only() -> None:
    bus = SyncMessageBus[Any]()
    bus.scan("tests.core.sync_pkg")
    assert bus.handlers_of(sync_pkg.Pinged) == [sync_pkg.on_pinged]


def test_the_async_bus_scans_both_kinds() -> None:
    bus = AsyncMessageBus[Any]()
    bus.scan("tests.core.sync_pkg")
    assert bus.handlers_of(sync_pkg.Pinged) == [
        sync_pkg.on_pinged,
        sync_pkg.on_pinged_async,
    ]
    assert not bus.all_sync


def test_the_sync_transaction_checks_its_states() -> None:
    uow = OrdersUnitOfWork()
    with (
        pytest.raises(TransactionError, match="Missing commit/rollback call"),
        uow as transaction,
    ):
        pass
    assert uow.log == ["rollback"]
    assert transaction.status is TransactionStatus.closed

    def commit_twice() -> None:
        with uow as transaction:
            opened.append(transaction)
            transaction.commit()
            transaction.commit()

    opened: list[Transaction] = []
    with pytest.raises(TransactionError, match=r"already closed \(committed\)"):
        commit_twice()
    [transaction] = opened
    assert transaction.status is TransactionStatus.rolledback

    with (
        pytest.raises(TransactionError, match="Invalid transaction status"),
        transaction,
    ):
        pass


def status(transaction: Transaction) -> TransactionStatus:
    """Read afresh (mypy narrows an attribute read twice)."""
    return transaction.status


def test_a_detached_sync_transaction_is_closed_later() -> None:
    uow = OrdersUnitOfWork()
    with uow as transaction:
        transaction.detach()
    assert status(transaction) is TransactionStatus.streaming
    transaction.close()
    assert uow.log == ["rollback"]
    assert status(transaction) is TransactionStatus.closed
    with pytest.raises(TransactionError, match=r"Transaction is closed\.$"):
        transaction.close()


def test_the_sync_defaults_keep_nothing() -> None:
    class Bare(SyncAbstractUnitOfWork[OrderRepository]):
        def commit(self) -> None: ...

        def rollback(self) -> None: ...

    uow = Bare()
    assert isinstance(uow.messagestore, SyncSinkholeMessageStoreRepository)
    publisher = SyncEventstreamPublisher(SyncSinkholeEventstreamTransport())
    publisher.send_message(OrderPlaced(ref="A1"))  # dropped, no error
    store = SyncSinkholeMessageStoreRepository(publisher)
    store.add(OrderPlaced(ref="A1"))
    store.publish_eventstream()
    assert store.stream_buffer == []
    with uow as transaction:
        transaction.commit()
    assert OrdersUnitOfWork.repository_classes() == {}


def test_the_sync_bus_reports_its_metrics(
    bus: SyncMessageBus[OrdersUnitOfWork],
) -> None:
    uow = OrdersUnitOfWork()
    uow.metrics_store = RecordingMetrics()
    with uow as transaction:
        bus.handle(PlaceOrder(ref="A1"), transaction)
        transaction.commit()
    assert uow.metrics_store.log == [
        "begin",
        "timing sync_place_order",
        "processed sync_place_order",
        "processed sync_order_placed",
        "timed",
        "closed committed",
    ]


def test_the_sync_bus_stamps_the_tracing_ids(
    bus: SyncMessageBus[OrdersUnitOfWork],
) -> None:
    uow = OrdersUnitOfWork()
    command = PlaceOrder(ref="A1")
    with uow as transaction:
        bus.handle(command, transaction)
        transaction.commit()
    stored_command, event = uow.messagestore.messages
    assert stored_command.metadata.correlation_id == command.message_id
    assert stored_command.metadata.causation_id is None
    assert event.metadata.correlation_id == command.message_id
    assert event.metadata.causation_id == command.message_id


def test_a_failing_rollback_hook_does_not_hide_the_blocks_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    uow = OrdersUnitOfWork()
    with (  # noqa: PT012
        pytest.raises(LookupError, match="the handler's own") as raised,
        uow as transaction,
    ):
        transaction.add_listener(AwaitingOnRollback())
        raise LookupError("the handler's own")
    assert uow.log == ["rollback"]
    assert transaction.status is TransactionStatus.rolledback
    [note] = raised.value.__notes__
    assert note.startswith("Then rolling the transaction back failed: RuntimeError(")
    [record] = caplog.records
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
