"""Fixtures of the seed tutorial's scenario: an in-memory unit of work.

These are the ``messagebus`` tutorial's fixtures, written for this project
with its testing kit (:mod:`messagebus_django.testing`): the books handlers
run against in-memory repositories, no database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
from django.core.signals import setting_changed

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
from messagebus_django import AsyncEventstreamPublisher, AsyncMessageBus, Err, Ok
from messagebus_django.testing import (
    InMemoryMessageStore,
    InMemoryUnitOfWork,
    RecordingEventstreamTransport,
)

pytest_plugins = ["pytester", "tests.broker.fixtures"]


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


class InMemoryBooksUnitOfWork(InMemoryUnitOfWork, AbstractUnitOfWork):
    """The testing kit's in-memory unit of work, with the books repositories.

    Also an ``AbstractUnitOfWork`` of the books: its transactions are the ones
    the handlers are typed to take.
    """

    books: InMemoryBookRepository
    activities: InMemoryActivityRepository


class InMemoryNotifier(AbstractNotifier):
    sent: list[tuple[str, str]] = []

    async def send(self, subject: str, body: str) -> None:
        InMemoryNotifier.sent.append((subject, body))


@pytest.fixture
def transport() -> RecordingEventstreamTransport:
    return RecordingEventstreamTransport()


@pytest.fixture
def uow(transport: RecordingEventstreamTransport) -> InMemoryBooksUnitOfWork:
    return InMemoryBooksUnitOfWork(
        messagestore=InMemoryMessageStore(AsyncEventstreamPublisher(transport))
    )


@pytest.fixture(scope="session")
def bus() -> AsyncMessageBus:
    bus = AsyncMessageBus(notifier=InMemoryNotifier)
    bus.scan("books.service.handlers")
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


@pytest.fixture
def unset_setting(settings: Any) -> Callable[[str], None]:
    """Delete a setting for the test, and say so as ``override_settings`` does.

    pytest-django's ``del settings.NAME`` sends no ``setting_changed``, so
    whatever remembers settings until that signal (messagebus_django's
    ``conf``) would go on with the old value.
    """

    def unset(name: str) -> None:
        delattr(settings, name)
        setting_changed.send(sender=None, setting=name, value=None, enter=True)

    return unset
