"""The books repositories on the Django ORM: the service's repository ports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from books import models
from books.domain.model import Book, BookActivity
from books.service.repositories import (
    AbstractActivityRepository,
    AbstractBookRepository,
    BookRepositoryError,
    BookRepositoryOperationResult,
    BookRepositoryResult,
)
from messagebus_django import DjangoRepository, Err, Ok


class DjangoBookRepository(DjangoRepository[Book, models.Book], AbstractBookRepository):
    orm_model = models.Book

    def to_domain(self, row: models.Book) -> Book:
        return row.to_domain()

    def from_domain(self, model: Book) -> Mapping[str, Any]:
        return models.Book.values_from_domain(model)

    async def add(self, model: Book) -> BookRepositoryOperationResult:
        if (await self.insert(model)).is_err():
            return Err(BookRepositoryError.integrity_error)
        return Ok(...)

    async def by_id(self, id: UUID) -> BookRepositoryResult:
        book = await self.get(pk=id)
        if book is None:
            return Err(BookRepositoryError.not_found)
        return Ok(book)

    async def update(self, model: Book) -> BookRepositoryOperationResult:
        if not await self.save(model):
            return Err(BookRepositoryError.not_found)
        return Ok(...)


class DjangoActivityRepository(
    DjangoRepository[BookActivity, models.BookActivity], AbstractActivityRepository
):
    orm_model = models.BookActivity

    def to_domain(self, row: models.BookActivity) -> BookActivity:
        return row.to_domain()

    def from_domain(self, model: BookActivity) -> Mapping[str, Any]:
        return models.BookActivity.values_from_domain(model)

    async def add(self, model: BookActivity) -> None:
        (await self.insert(model)).unwrap()
