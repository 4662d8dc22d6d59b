"""Scenario 1, messagebus_django side: RegisterBook -> BookRegistered -> 1 handler.

Everything in memory: a repository of its own per unit of work, no database.
"""

from __future__ import annotations

from uuid import UUID

from messagebus_django import (
    AsyncAbstractRepository,
    AsyncAbstractUnitOfWork,
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    Command,
    Event,
    Metadata,
    Model,
    async_listen,
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


class UnitOfWork(AsyncAbstractUnitOfWork[BookRepository]):
    def __init__(self) -> None:
        self.books = BookRepository()

    async def commit(self) -> None:
        pass

    async def rollback(self) -> None:
        pass


Transaction = AsyncUnitOfWorkTransaction[UnitOfWork]


@async_listen
async def register_book(cmd: RegisterBook, uow: Transaction) -> UUID:
    book = Book(id=cmd.id, isbn=cmd.isbn, title=cmd.title, author=cmd.author)
    await uow.books.add(book)
    HANDLED["commands handled"] += 1
    book.messages.append(
        BookRegistered(id=cmd.id, isbn=cmd.isbn, title=cmd.title, author=cmd.author)
    )
    return book.id


@async_listen
async def book_registered(event: BookRegistered, uow: Transaction) -> None:
    uow.books.registered.append(event.id)
    HANDLED["events handled"] += 1


def make_bus() -> AsyncMessageBus:
    bus = AsyncMessageBus()
    bus.scan(__name__)
    return bus


def make_command(id: UUID) -> RegisterBook:
    return RegisterBook(id=id, isbn="9780134494166", title="Clean", author="Martin")


async def handle(bus: AsyncMessageBus, command: RegisterBook) -> None:
    uow = UnitOfWork()
    async with uow as transaction:
        await bus.handle(command, transaction)
        await transaction.commit()
