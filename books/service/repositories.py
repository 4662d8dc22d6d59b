"""The books repositories' interfaces: ports of the service layer.

:mod:`books.adapters.repositories` implements them on the Django ORM.
Expected failures are results (``Err``), not exceptions.
"""

from __future__ import annotations

import abc
import enum
from types import EllipsisType
from uuid import UUID

from books.domain.model import Book, BookActivity
from messagebus_django import AsyncAbstractRepository, Result


class BookRepositoryError(enum.Enum):
    integrity_error = "integrity_error"
    """Another book has this id or ISBN."""
    not_found = "not_found"


BookRepositoryResult = Result[Book, BookRepositoryError]
BookRepositoryOperationResult = Result[EllipsisType, BookRepositoryError]


class AbstractBookRepository(AsyncAbstractRepository[Book]):
    @abc.abstractmethod
    async def add(self, model: Book) -> BookRepositoryOperationResult:
        """Store a new book; ``Err(integrity_error)`` if its id or ISBN is taken."""

    @abc.abstractmethod
    async def by_id(self, id: UUID) -> BookRepositoryResult:
        """The book with this id, or ``Err(not_found)``."""

    @abc.abstractmethod
    async def update(self, model: Book) -> BookRepositoryOperationResult:
        """Save a changed book; ``Err(not_found)`` if it does not exist."""


class AbstractActivityRepository(AsyncAbstractRepository[BookActivity]):
    @abc.abstractmethod
    async def add(self, model: BookActivity) -> None:
        """Append a line to a book's history."""
