"""The seed tutorial's chapter 5, run against messagebus_django."""

from __future__ import annotations

import json

import pytest

from books.domain.messages import BookRegistered, RegisterBook
from books.domain.model import Book, BookActivity
from books.service.handlers import notify_librarians, register_book
from books.service.repositories import BookRepositoryError
from messagebus_django import AsyncMessageBus, Err, MissingHandlerError, Ok
from messagebus_django.testing import RecordingEventstreamTransport
from tests.conftest import InMemoryBooksUnitOfWork


async def test_register_book(
    register_book_cmd: RegisterBook, uow: InMemoryBooksUnitOfWork
) -> None:
    async with uow as trans:
        op = await register_book(register_book_cmd, trans)
        assert op == Ok(...)
        op = await register_book(register_book_cmd, trans)
        assert op == Err(BookRepositoryError.integrity_error)
        await trans.commit()


async def test_bus_handler(
    bus: AsyncMessageBus,
    register_book_cmd: RegisterBook,
    uow: InMemoryBooksUnitOfWork,
    transport: RecordingEventstreamTransport,
    notifications: list[tuple[str, str]],
) -> None:
    async with uow as trans:
        result = await bus.handle(register_book_cmd, trans)
        assert result.is_ok()
        book = await trans.books.by_id(register_book_cmd.id)
        assert book.is_ok()
        assert book.unwrap() == Book(
            id=register_book_cmd.id,
            title="Domain Driven Design",
            author="Eric Evans",
            isbn="978-0-321-12521-7",
        )
        assert transport.messages == []  # nothing leaves before commit
        await trans.commit()

    registered = BookRegistered(
        id=register_book_cmd.id,
        isbn="9780321125217",
        title="Domain Driven Design",
        author="Eric Evans",
    )
    assert uow.messagestore.messages == [register_book_cmd, registered]
    assert uow.messagestore.published == [registered]
    assert uow.activities.activities == [
        BookActivity(
            book_id=register_book_cmd.id,
            kind="registered",
            detail="Domain Driven Design",
        )
    ]
    assert len(transport.messages) == 1
    sent = transport.messages[0]
    assert sent["type"] == "book_registered_v1"
    assert sent["id"] == str(uow.messagestore.messages[1].message_id)
    assert json.loads(sent["payload"]) == {
        "id": str(register_book_cmd.id),
        "isbn": "9780321125217",
        "title": "Domain Driven Design",
        "author": "Eric Evans",
    }
    # notify_librarians runs in the background (a Django task): the in-memory
    # unit of work keeps it, and the test runs it, in a transaction of its own.
    assert uow.deferred == [(registered, notify_librarians)]
    assert notifications == []
    async with uow as trans:
        await bus.run_handler(registered, notify_librarians, trans)
        await trans.commit()
    assert notifications == [
        (
            "New book: Domain Driven Design",
            "Domain Driven Design by Eric Evans (ISBN 9780321125217) joined the "
            "catalogue.",
        )
    ]


async def test_bus_handler_rolled_back_publishes_nothing(
    bus: AsyncMessageBus,
    register_book_cmd: RegisterBook,
    uow: InMemoryBooksUnitOfWork,
    transport: RecordingEventstreamTransport,
    notifications: list[tuple[str, str]],
) -> None:
    async with uow as trans:
        await bus.handle(register_book_cmd, trans)
        await trans.rollback()
    assert uow.rolled_back == 1
    assert uow.messagestore.published == []
    assert transport.messages == []
    assert notifications == []
    # A later, committed transaction must not publish the rolled-back events.
    async with uow as trans:
        await trans.commit()
    assert transport.messages == []


async def test_unregistered_handler_is_a_clear_error(
    register_book_cmd: RegisterBook, uow: InMemoryBooksUnitOfWork
) -> None:
    """The seed's first run: the bus never scanned the handlers."""
    bus = AsyncMessageBus()
    async with uow as trans:
        with pytest.raises(MissingHandlerError) as raised:
            await bus.handle(register_book_cmd, trans)
        await trans.rollback()
    message = str(raised.value)
    assert "books.domain.messages.RegisterBook" in message
    assert "@async_listen" in message
    assert "scan" in message
