"""The test app's unit of work: its port (what handlers are typed with) and
its Django implementation (``MESSAGEBUS_UNIT_OF_WORK`` in tests/settings.py)."""

from __future__ import annotations

from messagebus_django import (
    AsyncAbstractUnitOfWork,
    AsyncUnitOfWorkTransaction,
    DjangoUnitOfWork,
)
from tests.testapp.repositories import (
    AbstractActivityRepository,
    AbstractDocumentRepository,
    DjangoActivityRepository,
    DjangoDocumentRepository,
)


class AbstractUnitOfWork(AsyncAbstractUnitOfWork[AbstractDocumentRepository]):
    documents: AbstractDocumentRepository
    activities: AbstractActivityRepository


DocumentsTransaction = AsyncUnitOfWorkTransaction[AbstractUnitOfWork]


class DocumentsUnitOfWork(DjangoUnitOfWork, AbstractUnitOfWork):
    """One command's ``atomic`` block, with a fresh repository of each kind."""

    documents: DjangoDocumentRepository
    activities: DjangoActivityRepository
