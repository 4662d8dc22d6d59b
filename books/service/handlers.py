"""Handlers of the books commands and events: the app's use cases.

Each takes the :data:`~books.service.unit_of_work.BooksTransaction` of the
port, never a Django class, so the tests run them on in-memory repositories
too. The bus finds them because ``MESSAGEBUS_HANDLER_MODULES`` names this
module.
"""

from __future__ import annotations

from books.domain.messages import (
    BookDiscontinued,
    BookRegistered,
    DiscontinueBook,
    RegisterBook,
)
from books.domain.model import Book, BookActivity
from books.service.notifications import AbstractNotifier
from books.service.repositories import BookRepositoryOperationResult
from books.service.unit_of_work import BooksTransaction
from messagebus_django import Err, Ok, async_listen


@async_listen
async def register_book(
    cmd: RegisterBook, uow: BooksTransaction
) -> BookRepositoryOperationResult:
    book = Book(id=cmd.id, isbn=cmd.isbn, title=cmd.title, author=cmd.author)
    op: BookRepositoryOperationResult = await uow.books.add(book)
    book.messages.append(
        BookRegistered(id=cmd.id, isbn=cmd.isbn, title=cmd.title, author=cmd.author)
    )
    return op


@async_listen
async def discontinue_book(
    cmd: DiscontinueBook, uow: BooksTransaction
) -> BookRepositoryOperationResult:
    found = await uow.books.by_id(cmd.id)
    if isinstance(found, Err):
        return found
    book: Book = found.unwrap()
    if book.discontinued:
        return Ok(...)
    book.discontinued = True
    book.messages.append(BookDiscontinued(id=book.id, reason=cmd.reason))
    updated: BookRepositoryOperationResult = await uow.books.update(book)
    return updated


@async_listen
async def record_registration(event: BookRegistered, uow: BooksTransaction) -> None:
    await uow.activities.add(
        BookActivity(book_id=event.id, kind="registered", detail=event.title)
    )


@async_listen(background=True)
async def notify_librarians(
    event: BookRegistered, uow: BooksTransaction, notifier: AbstractNotifier
) -> None:
    notifier.queue(
        f"New book: {event.title}",
        f"{event.title} by {event.author} (ISBN {event.isbn}) joined the catalogue.",
    )


@async_listen
async def record_discontinuation(
    event: BookDiscontinued, uow: BooksTransaction
) -> None:
    await uow.activities.add(
        BookActivity(book_id=event.id, kind="discontinued", detail=event.reason)
    )
