"""Fixtures of the seed tutorial's scenario: an in-memory unit of work.

These are the ``messagebus`` tutorial's fixtures, written for this project:
the books handlers run against in-memory repositories, no database.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableSequence
from typing import Any
from uuid import UUID

import pytest

from books.domain.messages import RegisterBook
from books.domain.model import Book, BookActivity
from books.service.notifications import AbstractNotifier
from books.service.repositories import (
    AbstractActivityRepository,
    AbstractBookRepository,
    BookRepositoryError,
    BookRepositoryOperationResult,
    BookRepositoryResult,
)
from books.service.unit_of_work import AbstractUnitOfWork
from messagebus_django import (
    AsyncAbstractEventstreamTransport,
    AsyncAbstractMessageStoreRepository,
    AsyncEventstreamPublisher,
    AsyncMessageBus,
    Err,
    Message,
    Ok,
)


class InMemoryBookRepository(AbstractBookRepository):
    def __init__(self) -> None:
        super().__init__()
        self.books: dict[UUID, Book] = {}
        self.ix_books_isbn: dict[str, UUID] = {}

    async def add(self, model: Book) -> BookRepositoryOperationResult:
        if model.id in self.books or model.isbn in self.ix_books_isbn:
            return Err(BookRepositoryError.integrity_error)
        self.books[model.id] = model
        self.ix_books_isbn[model.isbn] = model.id
        self.seen.append(model)
        return Ok(...)

    async def by_id(self, id: UUID) -> BookRepositoryResult:
        if id not in self.books:
            return Err(BookRepositoryError.not_found)
        return Ok(self.books[id])

    async def update(self, model: Book) -> BookRepositoryOperationResult:
        if model.id not in self.books:
            return Err(BookRepositoryError.not_found)
        self.books[model.id] = model
        self.seen.append(model)
        return Ok(...)


class InMemoryActivityRepository(AbstractActivityRepository):
    def __init__(self) -> None:
        super().__init__()
        self.activities: list[BookActivity] = []

    async def add(self, model: BookActivity) -> None:
        self.activities.append(model)
        self.seen.append(model)


class InMemoryMessageStoreRepository(AsyncAbstractMessageStoreRepository):
    def __init__(self, publisher: AsyncEventstreamPublisher | None = None) -> None:
        super().__init__(publisher)
        self.messages: MutableSequence[Message[Any]] = []

    async def _add(self, message: Message[Any]) -> None:
        self.messages.append(message)


class InMemoryTransport(AsyncAbstractEventstreamTransport):
    def __init__(self) -> None:
        self.messages: list[Mapping[str, Any]] = []

    async def send_message_serialized(self, message: Mapping[str, Any]) -> None:
        self.messages.append(message)


class InMemoryUnitOfWork(AbstractUnitOfWork):
    messagestore: InMemoryMessageStoreRepository

    def __init__(self, transport: AsyncAbstractEventstreamTransport) -> None:
        self.books = InMemoryBookRepository()
        self.activities = InMemoryActivityRepository()
        self.messagestore = InMemoryMessageStoreRepository(
            publisher=AsyncEventstreamPublisher(transport)
        )
        self.committed = 0
        self.rolled_back = 0

    async def commit(self) -> None:
        self.committed += 1

    async def rollback(self) -> None:
        self.rolled_back += 1


class InMemoryNotifier(AbstractNotifier):
    sent: list[tuple[str, str]] = []

    async def send(self, subject: str, body: str) -> None:
        InMemoryNotifier.sent.append((subject, body))


@pytest.fixture
def transport() -> InMemoryTransport:
    return InMemoryTransport()


@pytest.fixture
def uow(transport: InMemoryTransport) -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork(transport)


@pytest.fixture(scope="session")
def bus() -> AsyncMessageBus:
    bus = AsyncMessageBus(notifier=InMemoryNotifier)
    bus.scan("books.handlers")
    return bus


@pytest.fixture
def notifications() -> Iterator[list[tuple[str, str]]]:
    InMemoryNotifier.sent.clear()
    yield InMemoryNotifier.sent
    InMemoryNotifier.sent.clear()


@pytest.fixture
def register_book_cmd() -> RegisterBook:
    return RegisterBook(
        id=UUID("0190b4f2-8d1e-7c3a-9e7d-3f2a1b0c4d5e"),
        isbn="0-321-12521-5",
        title="Domain Driven Design",
        author="Eric Evans",
    )
