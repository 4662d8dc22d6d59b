"""What a worker runs: one background handler, in a unit of work of its own, once.

The event is rebuilt from its wire envelope as the class the handler listens
to; the handler runs through the project's bus (:meth:`AsyncMessageBus.run_handler`)
in the configured unit of work, in one ``atomic`` block with a
:class:`~messagebus_django.models.HandledEvent` row: a second run of the same
(event, handler) finds the row and applies nothing. A failure is logged with
the event and the handler, and raised: the task result is FAILED, with the
traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from messagebus_django.core import ConfigurationError, Message, Registration
from messagebus_django.core.messages import from_payload, message_type_name
from messagebus_django.dispatching.bus import get_bus
from messagebus_django.dispatching.dispatcher import (
    handle_once,
    unit_of_work_class,
)
from messagebus_django.models import HandledEvent

__all__ = ["apply", "registration_of"]

logger = logging.getLogger("messagebus_django.background")


def registration_of(handler: str) -> Registration:
    """The project bus's registration of the event handler ``module:qualname``."""
    for registration in get_bus().registrations():
        if registration.kind == "event" and registration.qualified_name == handler:
            return registration
    raise ConfigurationError(
        f"No event handler {handler!r} is registered on the project's bus: was it "
        "renamed or moved since the task was enqueued? (The worker must run the "
        "same code and MESSAGEBUS_* settings as the process that enqueued it.)"
    )


def decode(envelope: Mapping[str, Any], registration: Registration) -> Message[Any]:
    """The event of a wire envelope, as the class ``registration`` listens to."""
    cls = registration.message_type
    expected = message_type_name(cls)
    if envelope.get("type") != expected:
        raise ConfigurationError(
            f"The task carries a {envelope.get('type')!r} event, and "
            f"{registration.qualified_name} listens to {expected!r}"
        )
    event = from_payload(
        cls,
        envelope["payload"],
        message_id=envelope["id"],
        created_at=envelope["created_at"],
    )
    return event


def _restore_tracing(event: Message[Any], headers: Mapping[str, str]) -> None:
    ids = {name: UUID(value) for name, value in headers.items()}
    if ids:
        event.metadata = event.metadata.model_copy(update=ids)


def apply(
    event: Mapping[str, Any],
    handler: str,
    headers: Mapping[str, str],
    *,
    task_id: str = "",
    attempt: int = 1,
) -> str:
    """Run ``handler`` on ``event`` (its wire envelope) once: ``"applied"``, or
    ``"duplicate"``; what the task's arguments name them."""
    envelope = event
    event_id = envelope.get("id", "?")
    try:
        registration = registration_of(handler)
        message = decode(envelope, registration)
        _restore_tracing(message, headers)
        applied = _apply_once(message, registration, task_id)
    except Exception:
        logger.exception(
            "Background handler %s failed on %s %s (task %s, attempt %d)",
            handler,
            envelope.get("type", "?"),
            event_id,
            task_id or "-",
            attempt,
        )
        raise
    if not applied:
        logger.info(
            "Background handler %s had already applied %s %s: nothing done (task %s)",
            handler,
            envelope.get("type"),
            event_id,
            task_id or "-",
        )
        return "duplicate"
    return "applied"


def _apply_once(event: Message[Any], registration: Registration, task_id: str) -> bool:
    def record(using: str) -> HandledEvent:
        return HandledEvent.objects.using(using).create(
            handler=registration.qualified_name,
            message_id=event.message_id,
            type=message_type_name(event),
            task_id=task_id,
        )

    return handle_once(
        get_bus(), event, unit_of_work_class()(), record, handler=registration.handler
    )
