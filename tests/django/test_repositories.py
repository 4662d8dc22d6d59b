"""DjangoRepository: rows to domain models and back, inside the command's transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from asgiref.sync import async_to_sync
from django.db import IntegrityError

from books.adapters.repositories import DjangoBookRepository
from books.adapters.unit_of_work import BooksUnitOfWork
from books.domain.messages import DiscontinueBook, RegisterBook
from books.domain.model import Book
from books.models import Book as BookRow
from books.models import BookActivity
from books.service.repositories import AbstractBookRepository, BookRepositoryError
from messagebus_django import (
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    Command,
    DjangoUnitOfWork,
    Err,
    Metadata,
    Ok,
    dispatch,
)

pytestmark = pytest.mark.django_db

DDD = "9780321125217"
REFACTORING = "9780134757599"


class RegisterTwice(Command):
    """Insert a duplicate, then carry on writing in the same transaction."""

    first: UUID
    second: UUID
    metadata: Metadata = Metadata(name="register_twice", schema_version=1)


async def register_twice(
    cmd: RegisterTwice, uow: AsyncUnitOfWorkTransaction[Any]
) -> Any:
    duplicate = await uow.books.add(
        Book(id=cmd.first, isbn=DDD, title="Again", author="X")
    )
    assert duplicate == Err(BookRepositoryError.integrity_error)
    return await uow.books.add(
        Book(id=cmd.second, isbn=REFACTORING, title="Refactoring", author="Fowler")
    )


def test_unique_violation_is_an_err_and_the_transaction_goes_on() -> None:
    first = RegisterBook(isbn=DDD, title="DDD", author="Evans")
    dispatch(first)
    bus = AsyncMessageBus()
    bus.add_listener(RegisterTwice, register_twice)
    second = RegisterBook(isbn=REFACTORING, title="-", author="-").id
    assert dispatch(RegisterTwice(first=first.id, second=second), bus=bus) == Ok(...)
    assert sorted(BookRow.objects.values_list("isbn", flat=True)) == sorted(
        [DDD, REFACTORING]
    )


def test_insert_reports_the_integrity_error() -> None:
    BookRow.objects.create(isbn=DDD, title="DDD", author="Evans")
    repository = DjangoBookRepository()
    book = Book(
        id=RegisterBook(isbn=DDD, title="t", author="a").id,
        isbn=DDD,
        title="t",
        author="a",
    )
    result = async_to_sync(repository.insert)(book)
    assert isinstance(result.unwrap_err(), IntegrityError)
    assert list(repository.seen) == []


def test_by_id_maps_rows_to_domain_models() -> None:
    row = BookRow.objects.create(isbn=DDD, title="DDD", author="Evans")
    repository = DjangoBookRepository()
    assert async_to_sync(repository.by_id)(row.id) == Ok(
        Book(id=row.id, isbn=DDD, title="DDD", author="Evans")
    )
    missing = RegisterBook(isbn=DDD, title="t", author="a").id
    assert async_to_sync(repository.by_id)(missing) == Err(
        BookRepositoryError.not_found
    )


def test_update_writes_changes_and_auto_now_fields() -> None:
    row = BookRow.objects.create(isbn=DDD, title="DDD", author="Evans")
    before = row.updated_at
    assert dispatch(DiscontinueBook(id=row.id, reason="out of print")) == Ok(...)
    row.refresh_from_db()
    assert row.discontinued
    assert row.updated_at > before
    assert list(BookActivity.objects.values_list("kind", "detail")) == [
        ("discontinued", "out of print")
    ]


def test_update_of_a_missing_row_is_not_found() -> None:
    repository = DjangoBookRepository()
    book = Book(
        id=RegisterBook(isbn=DDD, title="t", author="a").id,
        isbn=DDD,
        title="t",
        author="a",
    )
    assert async_to_sync(repository.update)(book) == Err(BookRepositoryError.not_found)
    assert list(repository.seen) == []


def test_discontinue_unknown_book_is_not_found() -> None:
    unknown = RegisterBook(isbn=DDD, title="t", author="a").id
    assert dispatch(DiscontinueBook(id=unknown)) == Err(BookRepositoryError.not_found)


def test_unit_of_work_gives_each_instance_its_own_repositories() -> None:
    one, two = BooksUnitOfWork(using="default"), BooksUnitOfWork(using="default")
    assert isinstance(one.books, DjangoBookRepository)
    assert one.books is not two.books
    assert one.books.using == "default"
    assert set(BooksUnitOfWork.repository_classes()) == {"books", "activities"}


def test_an_abstract_repository_annotation_is_a_clear_error() -> None:
    class Incomplete(DjangoUnitOfWork):
        books: AbstractBookRepository

    with pytest.raises(
        TypeError, match=r"Incomplete\.books is annotated with the abstract"
    ):
        Incomplete()
