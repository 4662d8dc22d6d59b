"""The event stream's models: the outbox (a view of the message store) and the inbox.

Their tables keep the names they had when they belonged to the core app.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from messagebus_django.models import StoredMessage

__all__ = ["InboxMessage", "OutboxMessage", "RedeliveredMessage"]


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
        db_table = "messagebus_django_inboxmessage"
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
        db_table = "messagebus_django_redeliveredmessage"
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "key"], name="messagebus_redelivered_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.consumer}: {self.key} ({self.count})"
