"""In-memory repositories of the test app (tests/testapp), for the testing
kit's unit of work."""

from __future__ import annotations

from uuid import UUID

from messagebus_django import Err, Ok
from tests.testapp.domain import Document, DocumentActivity
from tests.testapp.repositories import (
    AbstractActivityRepository,
    AbstractDocumentRepository,
    DocumentRepositoryError,
    DocumentRepositoryOperationResult,
    DocumentRepositoryResult,
)


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
