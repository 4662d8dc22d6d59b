"""The bookstore's unit of work on Django (``MESSAGEBUS_UNIT_OF_WORK``).

It is the service's :class:`~books.service.unit_of_work.AbstractUnitOfWork`,
the interface the handlers are typed with, with the Django repositories:
mypy checks that each one implements its port and that nothing abstract is
left (``tests/books/test_unit_of_work.py`` assigns one to that interface).
"""

from __future__ import annotations

from books.adapters.repositories import DjangoActivityRepository, DjangoBookRepository
from books.service.unit_of_work import AbstractUnitOfWork
from messagebus_django import DjangoUnitOfWork


class BooksUnitOfWork(DjangoUnitOfWork, AbstractUnitOfWork):
    """One command's ``atomic`` block, with a fresh repository of each kind."""

    books: DjangoBookRepository
    activities: DjangoActivityRepository
