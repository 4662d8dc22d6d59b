"""The unit of work the books handlers are typed with: a port.

:class:`books.adapters.unit_of_work.BooksUnitOfWork` implements it on Django
(what the bus runs, ``MESSAGEBUS_UNIT_OF_WORK``); the tests' in-memory unit
of work implements it too.
"""

from __future__ import annotations

from messagebus_django import AsyncAbstractUnitOfWork, AsyncUnitOfWorkTransaction

from .repositories import AbstractActivityRepository, AbstractBookRepository


class AbstractUnitOfWork(AsyncAbstractUnitOfWork[AbstractBookRepository]):
    """The repositories a books command may use, in one transaction."""

    books: AbstractBookRepository
    activities: AbstractActivityRepository


BooksTransaction = AsyncUnitOfWorkTransaction[AbstractUnitOfWork]
"""The transaction every books handler takes as its second parameter."""
