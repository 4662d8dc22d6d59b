"""ORM models of the test app."""

from __future__ import annotations

from typing import Any

from django.db import models

from messagebus_django import uuid7
from tests.testapp import domain


class Document(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    code = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=255)
    author = models.CharField(max_length=255)
    discontinued = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title

    def to_domain(self) -> domain.Document:
        return domain.Document(
            id=self.id,
            code=self.code,
            title=self.title,
            author=self.author,
            discontinued=self.discontinued,
        )

    @staticmethod
    def values_from_domain(document: domain.Document) -> dict[str, Any]:
        """The columns of a domain document; the database keeps the timestamps."""
        return {
            "id": document.id,
            "code": document.code,
            "title": document.title,
            "author": document.author,
            "discontinued": document.discontinued,
        }


class DocumentActivity(models.Model):
    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="activities"
    )
    kind = models.CharField(max_length=20)
    detail = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"

    def to_domain(self) -> domain.DocumentActivity:
        return domain.DocumentActivity(
            document_id=self.document_id,
            kind=self.kind,
            detail=self.detail,
            at=self.at,
        )

    @staticmethod
    def values_from_domain(activity: domain.DocumentActivity) -> dict[str, Any]:
        return {
            "document_id": activity.document_id,
            "kind": activity.kind,
            "detail": activity.detail,
        }


class DocumentArrival(models.Model):
    """A read model kept by the test app's consumer (``tests.testapp.consumers``).

    A table of its own, not ``Document``: a consumer in the producer's database
    would otherwise write the very row the producer wrote. ``message_id`` is
    the event's.
    """

    document_id = models.UUIDField(unique=True)
    code = models.CharField(max_length=20)
    title = models.CharField(max_length=255)
    author = models.CharField(max_length=255)
    message_id = models.UUIDField(unique=True)
    arrived_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["arrived_at", "id"]

    def __str__(self) -> str:
        return self.title
