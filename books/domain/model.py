"""The books domain models (pydantic, no ORM)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from messagebus_django import Field, Model

from .isbn import ISBN


class Book(Model):
    """A book of the catalogue."""

    id: UUID
    isbn: ISBN
    title: str
    author: str
    discontinued: bool = False
    """A discontinued book stays in the catalogue but can no longer be ordered."""


class BookActivity(Model):
    """One line of a book's history, written by event handlers."""

    book_id: UUID
    kind: Literal["registered", "discontinued"]
    detail: str = ""
    at: datetime | None = Field(default=None)
