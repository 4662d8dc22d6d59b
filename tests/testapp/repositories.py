"""The test app's repository ports and their Django adapters."""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from types import EllipsisType
from typing import Any
from uuid import UUID

from messagebus_django import (
    AsyncAbstractRepository,
    DjangoRepository,
    Err,
    Ok,
    Result,
)
from tests.testapp import models
from tests.testapp.domain import Document, DocumentActivity


class DocumentRepositoryError(enum.Enum):
    integrity_error = "integrity_error"
    not_found = "not_found"


DocumentRepositoryResult = Result[Document, DocumentRepositoryError]
DocumentRepositoryOperationResult = Result[EllipsisType, DocumentRepositoryError]


class AbstractDocumentRepository(AsyncAbstractRepository[Document]):
    @abc.abstractmethod
    async def add(self, model: Document) -> DocumentRepositoryOperationResult: ...

    @abc.abstractmethod
    async def by_id(self, id: UUID) -> DocumentRepositoryResult: ...

    @abc.abstractmethod
    async def update(self, model: Document) -> DocumentRepositoryOperationResult: ...


class AbstractActivityRepository(AsyncAbstractRepository[DocumentActivity]):
    @abc.abstractmethod
    async def add(self, model: DocumentActivity) -> None: ...


class DjangoDocumentRepository(
    DjangoRepository[Document, models.Document], AbstractDocumentRepository
):
    orm_model = models.Document

    def to_domain(self, row: models.Document) -> Document:
        return row.to_domain()

    def from_domain(self, model: Document) -> Mapping[str, Any]:
        return models.Document.values_from_domain(model)

    async def add(self, model: Document) -> DocumentRepositoryOperationResult:
        if (await self.insert(model)).is_err():
            return Err(DocumentRepositoryError.integrity_error)
        return Ok(...)

    async def by_id(self, id: UUID) -> DocumentRepositoryResult:
        document = await self.get(pk=id)
        if document is None:
            return Err(DocumentRepositoryError.not_found)
        return Ok(document)

    async def update(self, model: Document) -> DocumentRepositoryOperationResult:
        if not await self.save(model):
            return Err(DocumentRepositoryError.not_found)
        return Ok(...)


class DjangoActivityRepository(
    DjangoRepository[DocumentActivity, models.DocumentActivity],
    AbstractActivityRepository,
):
    orm_model = models.DocumentActivity

    def to_domain(self, row: models.DocumentActivity) -> DocumentActivity:
        return row.to_domain()

    def from_domain(self, model: DocumentActivity) -> Mapping[str, Any]:
        return models.DocumentActivity.values_from_domain(model)

    async def add(self, model: DocumentActivity) -> None:
        (await self.insert(model)).unwrap()
