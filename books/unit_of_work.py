"""The bookstore's unit of work (``MESSAGEBUS_UNIT_OF_WORK``)."""

from __future__ import annotations

from books.repositories import DjangoActivityRepository, DjangoBookRepository
from messagebus_django import DjangoUnitOfWork


class BooksUnitOfWork(DjangoUnitOfWork):
    books: DjangoBookRepository
    activities: DjangoActivityRepository
