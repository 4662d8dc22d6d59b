"""In-memory doubles shared by the core tests (not a test module); the Django
layer's sync-bus tests use :class:`RecordingMetrics` and
:class:`AwaitingOnRollback` and :class:`RecordingSyncDependency` too."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from messagebus_django.core import (
    AsyncAbstractEventstreamTransport,
    AsyncAbstractMessageStoreRepository,
    AsyncAbstractRepository,
    AsyncAbstractUnitOfWork,
    AsyncEventstreamPublisher,
    AsyncUnitOfWorkTransaction,
    GenericCommand,
    GenericModel,
    Message,
    Metadata,
    SinkholeMetricsStore,
    SyncAbstractRepository,
    SyncAbstractUnitOfWork,
    SyncDependency,
    TransactionStatus,
)


class Thing(GenericModel[Metadata]):
    """A domain model that only exists to raise messages."""

    name: str = "thing"


class ThingRepository(AsyncAbstractRepository[Thing]):
    def __init__(self) -> None:
        super().__init__()
        self.things: list[Thing] = []

    async def add(self, thing: Thing) -> None:
        self.things.append(thing)
        self.seen.append(thing)


class RecordingMessageStore(AsyncAbstractMessageStoreRepository):
    def __init__(self, publisher: AsyncEventstreamPublisher | None = None) -> None:
        super().__init__(publisher)
        self.messages: list[Message[Any]] = []

    async def _add(self, message: Message[Any]) -> None:
        self.messages.append(message)


class RecordingTransport(AsyncAbstractEventstreamTransport):
    def __init__(self) -> None:
        self.sent: list[Mapping[str, Any]] = []

    async def send_message_serialized(self, message: Mapping[str, Any]) -> None:
        self.sent.append(message)


class FakeUnitOfWork(AsyncAbstractUnitOfWork[ThingRepository]):
    """Two repositories, a recording message store publishing to a transport."""

    messagestore: RecordingMessageStore

    def __init__(self) -> None:
        self.things = ThingRepository()
        self.others = ThingRepository()
        self.transport = RecordingTransport()
        self.messagestore = RecordingMessageStore(
            AsyncEventstreamPublisher(self.transport)
        )
        self.log: list[str] = []

    async def commit(self) -> None:
        self.log.append("commit")

    async def rollback(self) -> None:
        self.log.append("rollback")


class SyncThingRepository(SyncAbstractRepository[Thing]):
    pass


class SyncThingsUnitOfWork(SyncAbstractUnitOfWork[SyncThingRepository]):
    """One repository of things, for the sync bus; commit and rollback do nothing."""

    def __init__(self) -> None:
        self.things = SyncThingRepository()

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


class DeferringUnitOfWork(FakeUnitOfWork):
    """Defers the after-commit work, as a unit of work inside ``atomic`` would."""

    def __init__(self) -> None:
        super().__init__()
        self.deferred: list[Callable[[], Awaitable[None]]] = []

    async def run_after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        self.deferred.append(callback)


class RecordingDependency:
    """A bus dependency that records how the transaction ended."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.log: list[str] = [] if log is None else log

    async def on_after_commit(self) -> None:
        self.log.append("after_commit")

    async def on_after_rollback(self) -> None:
        self.log.append("after_rollback")


def raise_messages(
    transaction: AsyncUnitOfWorkTransaction[Any], *messages: Message[Any]
) -> Thing:
    """Have a new model, seen by the ``things`` repository, raise ``messages``."""
    thing = Thing()
    thing.messages.extend(messages)
    transaction.things.seen.append(thing)
    return thing


class RecordingMetrics(SinkholeMetricsStore):
    """A metrics store that logs what it is told, in order, as short lines."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def inc_beginned_transaction_count(self) -> None:
        self.log.append("begin")

    def inc_transaction_closed_count(self, status: TransactionStatus) -> None:
        self.log.append(f"closed {status.value}")

    def inc_messages_processed_total(self, msg_metadata: Metadata) -> None:
        self.log.append(f"processed {msg_metadata.name}")

    @contextmanager
    def command_processing_timer(self, command: GenericCommand[Any]) -> Iterator[None]:
        self.log.append(f"timing {command.metadata.name}")
        yield
        self.log.append("timed")

    def observe_dispatch(
        self, command_type: str, outcome: str, seconds: float, handled: Iterable[str]
    ) -> None:
        self.log.append(f"dispatch {command_type} {outcome} {list(handled)}")


class AwaitingOnRollback:
    """A dependency whose rollback hook really awaits: it fails in a sync
    transaction, where there is no event loop to wait on."""

    async def on_after_commit(self) -> None: ...

    async def on_after_rollback(self) -> None:
        await asyncio.sleep(0)


class RecordingSyncDependency(SyncDependency):
    """A sync dependency: what handlers ``sent`` through it, and how each
    transaction ``ended`` (``"commit"`` or ``"rollback"``, from its hooks)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.ended: list[str] = []

    def on_after_commit(self) -> None:
        self.ended.append("commit")

    def on_after_rollback(self) -> None:
        self.ended.append("rollback")
