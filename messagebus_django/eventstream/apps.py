"""The event stream's app config."""

from __future__ import annotations

from django.apps import AppConfig


class EventstreamConfig(AppConfig):
    """Sends the published events of each committed command, and registers its checks."""

    name = "messagebus_django.eventstream"
    label = "messagebus_eventstream"
    verbose_name = "Event stream"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from messagebus_django import signals
        from messagebus_django.eventstream import checks  # noqa: F401 - registers the transports' checks
        from messagebus_django.eventstream.relay import relay_committed_events
        from messagebus_django.eventstream.transports.tasks import (
            enqueue_in_transaction,
        )

        # Tasks transports whose tasks live in the command's database enqueue
        # in its transaction (eventstream/transports/tasks.py).
        signals.messages_stored.connect(
            enqueue_in_transaction,
            dispatch_uid="messagebus_django.eventstream.transports.tasks",
        )
        # A dispatch_uid: ready() may run twice (tests do) without sending twice.
        signals.messages_committed.connect(
            relay_committed_events, dispatch_uid="messagebus_django.eventstream.relay"
        )
