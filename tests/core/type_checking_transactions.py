"""Checked by mypy (``make lint``), not run: a transaction is typed by its unit of work.

Each ``assert_type`` fails the type check if the inferred type drifts.
"""

from __future__ import annotations

from typing import Any, assert_type

from messagebus_django import (
    AbstractMetricsStore,
    AsyncAbstractMessageStoreRepository,
    AsyncAbstractRepository,
    AsyncAbstractUnitOfWork,
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    Command,
    Metadata,
    Model,
    SyncAbstractRepository,
    SyncAbstractUnitOfWork,
    SyncMessageBus,
    SyncUnitOfWorkTransaction,
)


class Book(Model):
    title: str


class AddBook(Command):
    title: str
    metadata: Metadata = Metadata(name="typed_add_book", schema_version=1)


class BookRepository(AsyncAbstractRepository[Book]):
    async def add(self, book: Book) -> None:
        self.seen.append(book)


class BooksUnitOfWork(AsyncAbstractUnitOfWork[BookRepository]):
    books: BookRepository

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


async def add_book(
    command: AddBook, transaction: AsyncUnitOfWorkTransaction[BooksUnitOfWork]
) -> None:
    # The unit of work, and so its repositories, typed.
    assert_type(transaction.uow, BooksUnitOfWork)
    assert_type(transaction.uow.books, BookRepository)
    assert_type(transaction.messagestore, AsyncAbstractMessageStoreRepository)
    assert_type(transaction.metrics_store, AbstractMetricsStore)
    await transaction.uow.books.add(Book(title=command.title))


async def add_book_tutorial_style(command: AddBook, uow: BooksUnitOfWork) -> None:
    """messagebus's tutorial annotates the unit of work itself."""
    assert_type(uow.books, BookRepository)
    assert_type(uow.metrics_store, AbstractMetricsStore)


async def handle(bus: AsyncMessageBus[BooksUnitOfWork], uow: BooksUnitOfWork) -> None:
    async with uow as transaction:
        assert_type(transaction, AsyncUnitOfWorkTransaction[BooksUnitOfWork])
        await bus.handle(AddBook(title="DDD"), transaction)
        await add_book(AddBook(title="DDD"), transaction)
        await transaction.commit()


class SyncBookRepository(SyncAbstractRepository[Book]):
    def add(self, book: Book) -> None:
        self.seen.append(book)


class SyncBooksUnitOfWork(SyncAbstractUnitOfWork[SyncBookRepository, Any, Any]):
    books: SyncBookRepository

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


def sync_add_book(
    command: AddBook, transaction: SyncUnitOfWorkTransaction[SyncBooksUnitOfWork]
) -> None:
    assert_type(transaction.uow.books, SyncBookRepository)
    transaction.uow.books.add(Book(title=command.title))


def sync_handle(
    bus: SyncMessageBus[SyncBooksUnitOfWork], uow: SyncBooksUnitOfWork
) -> None:
    with uow as transaction:
        assert_type(transaction, SyncUnitOfWorkTransaction[SyncBooksUnitOfWork])
        bus.handle(AddBook(title="DDD"), transaction)
        transaction.commit()
