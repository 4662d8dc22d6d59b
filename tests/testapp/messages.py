"""Commands and events of the test app."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, StringConstraints

from messagebus_django import Command, Event, Field, Metadata, uuid7


def normalize_code(value: str) -> str:
    """``"ab-12 3"`` and ``"AB123"`` are one code: a duplicate is found in any form."""
    code = value.replace("-", "").replace(" ", "").upper()
    if not code.isalnum():
        raise ValueError("A code has only letters, digits, hyphens and spaces.")
    return code


Code = Annotated[
    str, StringConstraints(min_length=1, max_length=20), AfterValidator(normalize_code)
]
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)
]


class RegisterDocument(Command):
    """Add a document."""

    id: UUID = Field(default_factory=uuid7)
    code: Code
    title: Text
    author: Text
    metadata: Metadata = Metadata(name="register_document", schema_version=1)


class DocumentRegistered(Event):
    """A document was added."""

    id: UUID
    code: str
    title: str
    author: str
    metadata: Metadata = Metadata(
        name="document_registered", schema_version=1, published=True
    )


class DiscontinueDocument(Command):
    """Withdraw a document; it stays stored."""

    id: UUID
    reason: str = ""
    metadata: Metadata = Metadata(name="discontinue_document", schema_version=1)


class DocumentDiscontinued(Event):
    """A document was withdrawn."""

    id: UUID
    reason: str
    metadata: Metadata = Metadata(
        name="document_discontinued", schema_version=1, published=True
    )
