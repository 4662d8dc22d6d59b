"""The message store: every handled message, with its delivery state.

It belongs to the core app because the unit of work writes it whether or not
the event stream is installed; the event stream's app
(:mod:`messagebus_django.eventstream`) adds the outbox view of it, the inbox and
the relay that fills in the delivery columns.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

__all__ = ["PENDING", "HandledEvent", "StoredMessage"]

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
            # The relay's rows in flight, found by their claim (marking a
            # batch sent, re-reading a partial claim). Only claimed rows are
            # in it, so dispatch()'s inserts (claim NULL) do not write to it.
            models.Index(
                fields=["claim"],
                name="messagebus_store_claim",
                condition=models.Q(claim__isnull=False),
            ),
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


class HandledEvent(models.Model):
    """An event a background handler has applied: the inbox of background tasks.

    Written in the handler's own transaction, with its effect: a task run
    again (a worker killed after COMMIT, a stale task re-enqueued) finds the
    row and applies nothing (see :mod:`messagebus_django.background`).
    """

    handler = models.CharField(
        max_length=255, help_text="The handler's module:qualname."
    )
    message_id = models.UUIDField()
    type = models.CharField(max_length=255, help_text="<name>_v<schema_version>")
    task_id = models.CharField(
        max_length=64, blank=True, help_text="The task result that applied it."
    )
    handled_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-handled_at", "id"]
        verbose_name = "handled event"
        constraints = [
            models.UniqueConstraint(
                fields=["handler", "message_id"], name="messagebus_handled_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.handler}: {self.type} {self.message_id}"
