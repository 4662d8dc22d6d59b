"""The spelling of background handlers, in the core: the flag, its options, its limits."""

from __future__ import annotations

from typing import Any

import pytest

from messagebus_django import (
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    ConfigurationError,
    SyncAbstractUnitOfWork,
    SyncMessageBus,
    async_listen,
    sync_listen,
    uuid7,
)
from messagebus_django.core.handlers import Background, background_of
from messagebus_django.testing import InMemoryUnitOfWork
from tests.testapp.messages import (
    DocumentDiscontinued,
    DocumentRegistered,
    RegisterDocument,
)


def registered() -> DocumentRegistered:
    return DocumentRegistered(id=uuid7(), code="A", title="T", author="A")


async def later(
    event: DocumentRegistered, uow: AsyncUnitOfWorkTransaction[Any]
) -> None:
    uow.uow.ran.append(("later", event.message_id))


async def now(event: DocumentRegistered, uow: AsyncUnitOfWorkTransaction[Any]) -> None:
    uow.uow.ran.append(("now", event.message_id))


def test_the_bare_decorators_mark_no_background() -> None:
    async def handler(event: DocumentRegistered, uow: Any) -> None: ...

    def sync_handler(event: DocumentRegistered, uow: Any) -> None: ...

    assert async_listen(handler) is handler
    assert sync_listen(sync_handler) is sync_handler
    assert background_of(handler) is None
    assert background_of(sync_handler) is None


def test_background_true_carries_its_options_to_the_registration() -> None:
    async def handler(event: DocumentRegistered, uow: Any) -> None: ...

    def sync_handler(event: DocumentDiscontinued, uow: Any) -> None: ...

    assert async_listen(background=True, queue_name="mail", priority=5)(handler) is (
        handler
    )
    sync_listen(background=True, backend="other")(sync_handler)
    bus: AsyncMessageBus[Any] = AsyncMessageBus()
    bus.add_listener(DocumentRegistered, handler)
    bus.add_listener(DocumentDiscontinued, sync_handler)
    by_type = {r.message_type: r for r in bus.registrations()}
    assert by_type[DocumentRegistered].background == Background(
        queue_name="mail", priority=5
    )
    assert by_type[DocumentDiscontinued].background == Background(backend="other")


def test_background_false_is_the_bare_form() -> None:
    async def handler(event: DocumentRegistered, uow: Any) -> None: ...

    async_listen(background=False)(handler)
    assert background_of(handler) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"queue_name": "mail"}, r"queue_name=\.\.\.\) chooses .* add background=True"),
        ({"background": "yes"}, "takes True or False"),
        ({"background": True, "priority": 1.5}, "takes a whole number"),
        ({"background": True, "priority": True}, "takes a whole number"),
        ({"background": True, "backend": ""}, "takes a non-empty name"),
    ],
)
def test_wrong_options_are_configuration_errors(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        async_listen(**options)


def test_the_called_forms_check_the_kind_of_function() -> None:
    def plain(event: DocumentRegistered, uow: Any) -> None: ...

    async def coroutine(event: DocumentRegistered, uow: Any) -> None: ...

    with pytest.raises(ConfigurationError, match="needs an 'async def'"):
        async_listen(background=True)(plain)  # type: ignore[type-var]
    with pytest.raises(ConfigurationError, match="needs a plain 'def'"):
        sync_listen(background=True)(coroutine)


def test_a_command_handler_cannot_be_background() -> None:
    async def handler(cmd: RegisterDocument, uow: Any) -> None: ...

    async_listen(background=True)(handler)
    bus: AsyncMessageBus[Any] = AsyncMessageBus()
    with pytest.raises(ConfigurationError, match="only event handlers may run in the"):
        bus.add_listener(RegisterDocument, handler)


def test_scanning_registers_background_handlers() -> None:
    bus: AsyncMessageBus[Any] = AsyncMessageBus()
    bus.scan("tests.testapp.background_handlers")
    (registration,) = bus.registrations()
    assert registration.qualified_name == (
        "tests.testapp.background_handlers:index_document"
    )
    assert registration.background == Background()


class RanUnitOfWork(InMemoryUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.ran: list[tuple[str, Any]] = []


async def test_the_bus_defers_a_background_handler_to_the_unit_of_work() -> None:
    async_listen(background=True)(later)
    bus: AsyncMessageBus[Any] = AsyncMessageBus()
    bus.add_listener(DocumentRegistered, later)
    bus.add_listener(DocumentRegistered, now)
    uow = RanUnitOfWork()
    event = registered()
    async with uow as transaction:
        await bus.handle(event, transaction)
        await transaction.commit()
    assert uow.ran == [("now", event.message_id)]
    assert uow.deferred == [(event, later)]
    # What a background task does: that handler, now.
    async with uow as transaction:
        await bus.run_handler(event, later, transaction)
        await transaction.commit()
    assert uow.ran == [("now", event.message_id), ("later", event.message_id)]


class SyncRanUnitOfWork(SyncAbstractUnitOfWork[Any]):
    """A sync unit of work that keeps what the bus deferred."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, Any]] = []
        self.deferred: list[Any] = []

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def defer_handler(self, event: Any, handler: Any, options: Any) -> None:
        self.deferred.append((event, handler, options))


class PlainUnitOfWork(SyncRanUnitOfWork):
    """Has no background: the base class's defer_handler."""

    defer_handler = SyncAbstractUnitOfWork.defer_handler


def sync_later(event: DocumentRegistered, uow: Any) -> None:
    uow.uow.ran.append(("later", event.message_id))


def test_the_sync_bus_defers_too() -> None:
    sync_listen(background=True, priority=3)(sync_later)
    bus: SyncMessageBus[Any] = SyncMessageBus()
    bus.add_listener(DocumentRegistered, sync_later)
    uow = SyncRanUnitOfWork()
    event = registered()
    with uow as transaction:
        bus.handle(event, transaction)
        transaction.commit()
    assert uow.deferred == [(event, sync_later, Background(priority=3))]
    assert uow.ran == []
    with uow as transaction:
        bus.run_handler(event, sync_later, transaction)
        transaction.commit()
    assert uow.ran == [("later", event.message_id)]


def test_a_unit_of_work_without_background_says_so() -> None:
    sync_listen(background=True)(sync_later)
    bus: SyncMessageBus[Any] = SyncMessageBus()
    bus.add_listener(DocumentRegistered, sync_later)
    uow = PlainUnitOfWork()
    with (
        pytest.raises(ConfigurationError, match="cannot run it in the background"),
        uow as transaction,
    ):
        bus.handle(registered(), transaction)


def test_run_handler_takes_a_registered_event_handler() -> None:
    bus: SyncMessageBus[Any] = SyncMessageBus()
    uow = SyncRanUnitOfWork()
    with uow as transaction:
        with pytest.raises(ConfigurationError, match="is not registered for"):
            bus.run_handler(registered(), sync_later, transaction)
        with pytest.raises(ConfigurationError, match="is a command: use handle"):
            bus.run_handler(
                RegisterDocument(code="a", title="t", author="a"),
                sync_later,
                transaction,
            )
        transaction.rollback()
