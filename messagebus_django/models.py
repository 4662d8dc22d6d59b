"""The message store (with the outbox's delivery state) and the inbox."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q

__all__ = [
    "PENDING",
    "InboxMessage",
    "OutboxMessage",
    "RedeliveredMessage",
    "StoredMessage",
]

PENDING = Q(published=True, published_at__isnull=True, dead=False)
"""The outbox rows the relay still has to send (dead ones aside)."""


class StoredMessage(models.Model):
    """Every message a unit of work handled, written in the command's transaction.

    Published events (``metadata.published``) carry their delivery state: the
    relay sends the ones without ``published_at`` and not ``dead``.
    """

    class Kind(models.TextChoices):
        COMMAND = "command"
        EVENT = "event"

    id = models.UUIDField(primary_key=True, help_text="The message_id.")
    type = models.CharField(max_length=255, help_text="<name>_v<schema_version>")
    name = models.CharField(max_length=255)
    schema_version = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    payload = models.JSONField()
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)
    stored_at = models.DateTimeField(auto_now_add=True)

    published = models.BooleanField(
        default=False, help_text="Whether the message goes to the event stream."
    )
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    dead = models.BooleanField(
        default=False, help_text="Given up after too many failed attempts."
    )
    claimed_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A relay is sending it; others leave it alone until then.",
    )
    claim = models.UUIDField(
        null=True, blank=True, help_text="The claim of the relay sending it."
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "stored message"
        indexes = [
            models.Index(
                fields=["next_attempt_at", "created_at"],
                name="messagebus_outbox_pending",
                condition=PENDING,
            ),
            models.Index(fields=["type", "created_at"], name="messagebus_store_type"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    @property
    def state(self) -> str:
        if not self.published:
            return "stored"
        if self.dead:
            return "dead"
        if self.published_at is not None:
            return "sent"
        return "pending"


class OutboxManager(models.Manager["OutboxMessage"]):
    def get_queryset(self) -> models.QuerySet[OutboxMessage]:
        return super().get_queryset().filter(published=True)


class OutboxMessage(StoredMessage):
    """The published events: what the relay sends to the broker."""

    objects: ClassVar[OutboxManager] = OutboxManager()

    class Meta:
        proxy = True
        verbose_name = "outbox message"


class InboxMessage(models.Model):
    """A message a consumer has applied; a redelivery of it is acknowledged unapplied."""

    consumer = models.CharField(max_length=255, help_text="The consumer's queue.")
    message_id = models.UUIDField()
    type = models.CharField(max_length=255)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "id"]
        verbose_name = "inbox message"
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "message_id"], name="messagebus_inbox_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.consumer}: {self.type} {self.message_id}"


class RedeliveredMessage(models.Model):
    """A delivery the broker handed a consumer again before it was settled.

    Counted in a transaction of its own before the delivery is processed, so
    the count survives a consumer that dies on it; deleted once it is settled.
    """

    consumer = models.CharField(max_length=255, help_text="The consumer's queue.")
    key = models.CharField(
        max_length=255, help_text="The message_id, or a hash of the body."
    )
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "redelivered message"
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "key"], name="messagebus_redelivered_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.consumer}: {self.key} ({self.count})"
