"""ORM models of the books app: storage only; the domain lives in books.domain."""

from __future__ import annotations

from django.db import models

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


class NewArrival(models.Model):
    """The "new arrivals" read model, kept by ``books.consumers`` from the event stream.

    Written only by the consumer of ``BookRegistered``
    (``manage.py messagebus_consume --queue bookstore.new-arrivals --handlers
    books.consumers --type book_registered_v1``); ``message_id`` is the event's.
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
