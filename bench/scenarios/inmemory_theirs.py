"""Scenario 1, the ``messagebus`` library (PyPI, 0.16.x) side: the same scenario.

Its own Command/Event/Model classes, unit of work and repository. Its
``async_listen`` reads the annotations unevaluated, and this file has
``from __future__ import annotations``, so the handlers are added with
``add_listener`` (the registration is not what is measured).
"""

# Without the bench dependency group (make lint), messagebus is missing and its
# names are Any: subclassing them is allowed here.
# mypy: allow-subclassing-any
from __future__ import annotations

from typing import Any, TypeAlias
from uuid import UUID

from messagebus import (  # type: ignore[import-not-found, unused-ignore]
    AsyncAbstractRepository,
    AsyncAbstractUnitOfWork,
    AsyncMessageBus,
    AsyncSinkholeMessageStoreRepository,
    AsyncUnitOfWorkTransaction,
    Command,
    Event,
    Metadata,
    Model,
)
from messagebus.ports.observability import (  # type: ignore[import-not-found, unused-ignore]
    SinkholeMetricsStore,
)

# What the handlers saw: the proof that both sides did the same (bench.work).
HANDLED = {"commands handled": 0, "events handled": 0}


class Book(Model):
    id: UUID
    isbn: str
    title: str
    author: str


class RegisterBook(Command):
    id: UUID
    isbn: str
    title: str
    author: str
    metadata: Metadata = Metadata(name="bench_register_book", schema_version=1)


class BookRegistered(Event):
    id: UUID
    isbn: str
    title: str
    author: str
    metadata: Metadata = Metadata(
        name="bench_book_registered", schema_version=1, published=True
    )


class BookRepository(AsyncAbstractRepository[Book]):
    def __init__(self) -> None:
        super().__init__()
        self.books: dict[UUID, Book] = {}
        self.registered: list[UUID] = []

    async def add(self, book: Book) -> None:
        self.books[book.id] = book
        self.seen.append(book)


class UnitOfWork(
    AsyncAbstractUnitOfWork[
        BookRepository, AsyncSinkholeMessageStoreRepository, SinkholeMetricsStore
    ]
):
    def __init__(self) -> None:
        self.books = BookRepository()

    async def commit(self) -> None:
        pass

    async def rollback(self) -> None:
        pass


Transaction: TypeAlias = AsyncUnitOfWorkTransaction[UnitOfWork]


async def register_book(cmd: RegisterBook, uow: Transaction) -> UUID:
    book = Book(id=cmd.id, isbn=cmd.isbn, title=cmd.title, author=cmd.author)
    await uow.books.add(book)
    HANDLED["commands handled"] += 1
    # The pydantic mypy plugin misses the class default of ``metadata`` here.
    event = BookRegistered(  # type: ignore[call-arg, unused-ignore]
        id=cmd.id, isbn=cmd.isbn, title=cmd.title, author=cmd.author
    )
    book.messages.append(event)
    return book.id


async def book_registered(event: BookRegistered, uow: Transaction) -> None:
    uow.books.registered.append(event.id)
    HANDLED["events handled"] += 1


def make_bus() -> AsyncMessageBus[Any]:
    bus: AsyncMessageBus[Any] = AsyncMessageBus()
    bus.add_listener(RegisterBook, register_book)
    bus.add_listener(BookRegistered, book_registered)
    return bus


def make_command(id: UUID) -> RegisterBook:
    return RegisterBook(  # type: ignore[call-arg, unused-ignore]
        id=id, isbn="9780134494166", title="Clean", author="Martin"
    )


async def handle(bus: AsyncMessageBus[Any], command: RegisterBook) -> None:
    uow = UnitOfWork()
    async with uow as transaction:
        await bus.handle(command, transaction)
        await transaction.commit()
