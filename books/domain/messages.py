"""Commands and events of the books domain."""

from __future__ import annotations

from uuid import UUID

from messagebus_django import Command, Event, Field, Metadata, uuid7

from .isbn import ISBN
from .text import Reason, Text


class RegisterBook(Command):
    """Add a book to the catalogue."""

    id: UUID = Field(default_factory=uuid7)
    """The new book's id; the caller may choose it."""
    isbn: ISBN
    """ISBN-10 or ISBN-13, stored in its 13-digit form."""
    title: Text
    author: Text
    metadata: Metadata = Metadata(name="register_book", schema_version=1)


class BookRegistered(Event):
    """A book joined the catalogue."""

    id: UUID
    isbn: str
    title: str
    author: str
    metadata: Metadata = Metadata(
        name="book_registered", schema_version=1, published=True
    )


class DiscontinueBook(Command):
    """Stop selling a book; it stays in the catalogue."""

    id: UUID
    reason: Reason = ""
    metadata: Metadata = Metadata(name="discontinue_book", schema_version=1)


class BookDiscontinued(Event):
    """A book can no longer be ordered."""

    id: UUID
    reason: str
    metadata: Metadata = Metadata(
        name="book_discontinued", schema_version=1, published=True
    )
