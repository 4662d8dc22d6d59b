"""The unit of work the books handlers expect."""

from __future__ import annotations

from messagebus_django import AsyncAbstractUnitOfWork, AsyncUnitOfWorkTransaction

from .repositories import AbstractActivityRepository, AbstractBookRepository


class AbstractUnitOfWork(AsyncAbstractUnitOfWork[AbstractBookRepository]):
    books: AbstractBookRepository
    activities: AbstractActivityRepository


BooksTransaction = AsyncUnitOfWorkTransaction[AbstractUnitOfWork]
