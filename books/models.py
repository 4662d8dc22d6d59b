"""ORM models of the books app: storage only; the domain lives in books.domain.

Each model that stores a domain model maps it both ways: ``to_domain()`` reads
a row as the domain model, ``values_from_domain()`` gives the column values
to write. :mod:`books.adapters.repositories` builds on them.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from books.domain import model
from messagebus_django import uuid7


class Book(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    isbn = models.CharField(
        "ISBN", max_length=13, unique=True, help_text="ISBN-10 or ISBN-13."
    )
    title = models.CharField(max_length=255)
    author = models.CharField(max_length=255)
    discontinued = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.author})"

    def to_domain(self) -> model.Book:
        """This row as the domain's book."""
        return model.Book(
            id=self.id,
            isbn=self.isbn,
            title=self.title,
            author=self.author,
            discontinued=self.discontinued,
        )

    @staticmethod
    def values_from_domain(book: model.Book) -> dict[str, Any]:
        """The columns of a domain book, its primary key included.

        The timestamps are not the domain's: the database keeps them.
        """
        return {
            "id": book.id,
            "isbn": book.isbn,
            "title": book.title,
            "author": book.author,
            "discontinued": book.discontinued,
        }


class BookActivity(models.Model):
    """A book's history, written by the handlers of its events."""

    class Kind(models.TextChoices):
        REGISTERED = "registered"
        DISCONTINUED = "discontinued"

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "book activities"

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"

    def to_domain(self) -> model.BookActivity:
        """This row as the domain's history line."""
        return model.BookActivity(
            book_id=self.book_id, kind=self.kind, detail=self.detail, at=self.at
        )

    @staticmethod
    def values_from_domain(activity: model.BookActivity) -> dict[str, Any]:
        """The columns of a domain history line; ``at`` is the insert's time."""
        return {
            "book_id": activity.book_id,
            "kind": activity.kind,
            "detail": activity.detail,
        }


class NewArrival(models.Model):
    """The "new arrivals" read model, kept by ``books.consumers`` from the event stream.

    Written only by the consumer of ``BookRegistered``
    (``manage.py messagebus_consume --consumer bookstore.new-arrivals``, or the
    Tasks transport's worker); ``message_id`` is the event's.
    """

    book_id = models.UUIDField(unique=True)
    title = models.CharField(max_length=255)
    author = models.CharField(max_length=255)
    arrived_at = models.DateTimeField(auto_now_add=True)
    message_id = models.UUIDField(unique=True)

    class Meta:
        ordering = ["-arrived_at", "id"]
        verbose_name = "new arrival"

    def __str__(self) -> str:
        return f"{self.title} ({self.author})"
