"""messagebus 0.16's public names, generics and behaviours, from messagebus_django."""

from __future__ import annotations

import json
from typing import Any

import messagebus_django
from messagebus_django import (
    AsyncAbstractRepository,
    AsyncAbstractUnitOfWork,
    AsyncMessageBus,
    AsyncSinkholeMessageStoreRepository,
    AsyncUnitOfWorkTransaction,
    Command,
    Event,
    Metadata,
    Model,
    SinkholeMetricsStore,
    SyncAbstractUnitOfWork,
    SyncMessageBus,
    SyncUnitOfWorkTransaction,
)
from messagebus_django.core.tracing import stamp_root

# messagebus 0.16.1's __all__, written out: a name dropped here is a break.
MESSAGEBUS_0_16_ALL = [
    "AbstractMessageSerializer",
    "AsyncAbstractEventstreamTransport",
    "AsyncAbstractMessageStoreRepository",
    "AsyncAbstractRepository",
    "AsyncAbstractUnitOfWork",
    "AsyncDependency",
    "AsyncEventstreamPublisher",
    "AsyncMessageBus",
    "AsyncSinkholeEventstreamTransport",
    "AsyncSinkholeMessageStoreRepository",
    "AsyncUnitOfWorkTransaction",
    "Command",
    "Event",
    "Field",
    "GenericCommand",
    "GenericEvent",
    "GenericModel",
    "Message",
    "Metadata",
    "Model",
    "SyncAbstractEventstreamTransport",
    "SyncAbstractMessageStoreRepository",
    "SyncAbstractRepository",
    "SyncAbstractUnitOfWork",
    "SyncDependency",
    "SyncEventstreamPublisher",
    "SyncMessageBus",
    "SyncSinkholeEventstreamTransport",
    "SyncSinkholeMessageStoreRepository",
    "SyncUnitOfWorkTransaction",
    "TAsyncMessageStore",
    "TMetadata",
    "TSyncMessageStore",
    "TransactionStatus",
    "async_listen",
    "sync_listen",
]


def test_every_messagebus_name_is_exported() -> None:
    missing = [
        name
        for name in MESSAGEBUS_0_16_ALL
        if name not in messagebus_django.__all__
        or getattr(messagebus_django, name, None) is None
    ]
    assert missing == []
    # And the names messagebus's modules offer beside its __all__.
    for name in ("AbstractMetricsStore", "MessageSerializer", "TransactionError"):
        assert name in messagebus_django.__all__


class Book(Model):
    title: str


class BookAdded(Event):
    title: str
    metadata: Metadata = Metadata(name="book_added", schema_version=1)


class Books(AsyncAbstractRepository[Book]): ...


class OneParameter(AsyncAbstractUnitOfWork[Books]):
    """The tutorial's one-parameter form."""

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


def test_the_buses_and_units_of_work_are_generic_at_run_time() -> None:
    assert AsyncMessageBus[OneParameter]().commands_registry == {}
    assert SyncMessageBus[Any]().events_registry == {}
    assert AsyncUnitOfWorkTransaction[OneParameter] is not None
    assert SyncUnitOfWorkTransaction[Any] is not None
    assert AsyncAbstractUnitOfWork[Books, Any, Any] is not None
    assert SyncAbstractUnitOfWork[Any] is not None


def test_the_one_parameter_form_gets_the_defaults() -> None:
    uow = OneParameter()
    assert isinstance(uow.messagestore, AsyncSinkholeMessageStoreRepository)
    assert isinstance(uow.metrics_store, SinkholeMetricsStore)


def test_a_model_and_a_message_read_as_messagebus_shows_them() -> None:
    book = Book(title="DDD")
    assert repr(book) == "<Book title='DDD'>"
    book.messages.append(BookAdded(title="DDD"))
    assert repr(book) == "<Book title='DDD' message=[<BookAdded title='DDD'>]>"


def test_a_message_with_tracing_ids_dumps_to_json() -> None:
    event = BookAdded(title="DDD")
    stamp_root(event)
    dumped = event.metadata.model_dump()
    assert dumped["correlation_id"] == str(event.message_id)
    assert json.loads(json.dumps(dumped)) == dumped
    assert event.model_dump(mode="json")["metadata"] == dumped


class AddBook(Command):
    title: str
    metadata: Metadata = Metadata(name="api_add_book", schema_version=1)


class SyncBooks(SyncAbstractUnitOfWork[Any]):
    def commit(self) -> None: ...

    def rollback(self) -> None: ...


async def test_handle_takes_messagebus_keyword_names() -> None:
    async def add(command: AddBook, uow: Any) -> str:
        return command.title

    def add_sync(command: AddBook, uow: Any) -> str:
        return command.title

    bus = AsyncMessageBus()
    bus.add_listener(AddBook, add)
    async with OneParameter() as transaction:
        assert await bus.handle(command=AddBook(title="a"), uow=transaction) == "a"
        await transaction.commit()
    sync_bus = SyncMessageBus[Any]()
    sync_bus.add_listener(AddBook, add_sync)
    with SyncBooks() as sync_transaction:
        assert sync_bus.handle(command=AddBook(title="b"), uow=sync_transaction) == "b"
        sync_transaction.commit()


def test_scan_accepts_messagebus_stack_depth() -> None:
    bus = AsyncMessageBus()
    bus.scan("tests.core.handlers_pkg", stack_depth=2)
    assert bus.registrations()


class Author(Model):
    name: str


class Shelf(Model):
    author: Author
    books: list[Author]


def test_a_nested_model_reads_as_messagebus_shows_it() -> None:
    shelf = Shelf(author=Author(name="joe"), books=[Author(name="ann")])
    assert repr(Author(name="joe")) == "<Author name='joe'>"
    assert repr(shelf) == ("<Shelf author={'name': 'joe'} books=[{'name': 'ann'}]>")
