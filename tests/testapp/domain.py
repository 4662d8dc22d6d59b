"""The test app's domain models (pydantic, no ORM)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from messagebus_django import Field, Model


class Document(Model):
    id: UUID
    code: str
    title: str
    author: str
    discontinued: bool = False


class DocumentActivity(Model):
    """One line of a document's history, written by event handlers."""

    document_id: UUID
    kind: Literal["registered", "discontinued", "indexed"]
    detail: str = ""
    at: datetime | None = Field(default=None)
