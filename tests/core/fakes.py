"""In-memory doubles shared by the core tests (not a test module)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from messagebus_django.core import (
    AsyncAbstractEventstreamTransport,
    AsyncAbstractMessageStoreRepository,
    AsyncAbstractRepository,
    AsyncAbstractUnitOfWork,
    AsyncEventstreamPublisher,
    AsyncUnitOfWorkTransaction,
    GenericModel,
    Message,
    Metadata,
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
