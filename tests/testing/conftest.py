"""In-memory repositories of the test app (tests/testapp), for the testing
kit's unit of work.

Until all these tests move to the test app, the others run on the
bookstore's handlers, unit of work and notifier; the modules of
``ON_THE_TEST_APP`` already run on the test app (the suite's settings)."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from django.test import override_settings

from messagebus_django import Err, Ok
from tests.books.conftest import BOOKSTORE_MESSAGEBUS_SETTINGS
from tests.testapp.domain import Document, DocumentActivity
from tests.testapp.repositories import (
    AbstractActivityRepository,
    AbstractDocumentRepository,
    DocumentRepositoryError,
    DocumentRepositoryOperationResult,
    DocumentRepositoryResult,
)

ON_THE_TEST_APP = frozenset(
    {"test_events", "test_in_memory", "test_plugin", "test_seed"}
)


@pytest.fixture(autouse=True)
def bookstore_messagebus_settings(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.module.__name__.rpartition(".")[2] in ON_THE_TEST_APP:
        yield
        return
    with override_settings(**BOOKSTORE_MESSAGEBUS_SETTINGS):
        yield


class InMemoryDocumentRepository(AbstractDocumentRepository):
    def __init__(self) -> None:
        super().__init__()
        self.documents: dict[UUID, Document] = {}
        self.ix_documents_code: dict[str, UUID] = {}

    async def add(self, model: Document) -> DocumentRepositoryOperationResult:
        if model.id in self.documents or model.code in self.ix_documents_code:
            return Err(DocumentRepositoryError.integrity_error)
        self.documents[model.id] = model
        self.ix_documents_code[model.code] = model.id
        self.seen.append(model)
        return Ok(...)

    async def by_id(self, id: UUID) -> DocumentRepositoryResult:
        if id not in self.documents:
            return Err(DocumentRepositoryError.not_found)
        return Ok(self.documents[id])

    async def update(self, model: Document) -> DocumentRepositoryOperationResult:
        if model.id not in self.documents:
            return Err(DocumentRepositoryError.not_found)
        self.documents[model.id] = model
        self.seen.append(model)
        return Ok(...)


class InMemoryActivityRepository(AbstractActivityRepository):
    def __init__(self) -> None:
        super().__init__()
        self.activities: list[DocumentActivity] = []

    async def add(self, model: DocumentActivity) -> None:
        self.activities.append(model)
        self.seen.append(model)
