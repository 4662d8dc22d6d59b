"""The bookstore's unit of work (``MESSAGEBUS_UNIT_OF_WORK``)."""

from __future__ import annotations

from messagebus_django import DjangoUnitOfWork

from books.repositories import DjangoActivityRepository, DjangoBookRepository


class BooksUnitOfWork(DjangoUnitOfWork):
    books = DjangoBookRepository
    activities = DjangoActivityRepository
