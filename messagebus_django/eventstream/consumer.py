"""Consuming the event stream: each delivery applied once, poison dead-lettered.

:class:`Consumer` turns a delivery's body back into the registered event
class (by ``<name>_v<version>``) and handles it through the local bus in a
:class:`~messagebus_django.DjangoUnitOfWork`, recording its ``message_id`` in
the inbox in the same transaction: a redelivered message is acknowledged
without effect. :class:`BrokerConsumer` runs it on a RabbitMQ queue with
kombu, acknowledging only after the commit and sending poison messages (bad
JSON, unknown type, invalid payload, a handler that keeps failing) to a
dead-letter queue with the reason.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connections,
    transaction,
)
from pydantic import ValidationError

from messagebus_django.conf import conf
from messagebus_django.core import (
    AsyncMessageBus,
    GenericEvent,
    Message,
    Metadata,
    message_type_name,
)
from messagebus_django.core.messages import from_payload
from messagebus_django.dispatching.bus import get_bus
from messagebus_django.dispatching.dispatcher import (
    handle_once,
    unit_of_work_class,
)

__all__ = ["Consumer", "Outcome", "event_types"]

logger = logging.getLogger(__name__)


def event_types(bus: AsyncMessageBus | None = None) -> dict[str, type[Message[Any]]]:
    """``{"<name>_v<version>": EventClass}``: the installed apps' events and ``bus``'s.

    Two classes with one wire name are a ``DuplicateMessageTypeError``: a
    delivery could not tell which one it is.
    """
    from django.apps import apps

    from messagebus_django.operations.introspection import (
        DuplicateMessageTypeError,
        message_classes,
    )

    classes: list[type[Message[Any]]] = list(
        message_classes(apps.get_app_configs(), GenericEvent)
    )
    if bus is not None:
        classes += [r.message_type for r in bus.registrations() if r.kind == "event"]
    found: dict[str, type[Message[Any]]] = {}
    for cls in classes:
        if not isinstance(cls.model_fields["metadata"].default, Metadata):
            continue
        name = message_type_name(cls)
        other = found.setdefault(name, cls)
        if other is not cls:
            raise DuplicateMessageTypeError(
                f"{other.__module__}.{other.__qualname__} and "
                f"{cls.__module__}.{cls.__qualname__} are both {name!r}"
            )
    return found


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery."""

    status: Literal["applied", "duplicate", "dead", "retry"]
    reason: str = ""
    type: str = ""


class Consumer:
    """Applies deliveries of the event stream, each at most once, for one queue."""

    def __init__(
        self,
        name: str,
        *,
        bus: AsyncMessageBus | None = None,
        types: dict[str, type[Message[Any]]] | None = None,
        max_attempts: int = 3,
        retry_delay: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        using: str | None = None,
    ) -> None:
        self.name = name
        self.using = using or conf.DATABASE
        self.bus = bus if bus is not None else get_bus()
        self.types = types if types is not None else event_types(self.bus)
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.sleep = sleep

    def process(
        self, body: bytes | str, headers: Mapping[str, Any] | None = None
    ) -> Outcome:
        """Decode, validate and apply one delivery; never raises for bad input.

        ``headers`` are the broker's: the producer's ``correlation_id`` and
        ``causation_id`` are restored on the event, so what its handlers raise
        stays in the same trace. Whatever goes wrong before the handlers run
        (JSON nested too deep, a body too big to decode, a validator that
        raises) is a dead :class:`Outcome` with the exception as its reason.
        """
        try:
            return self._process(body, headers)
        except Exception as exc:
            return Outcome(
                "dead", f"cannot be processed: {type(exc).__name__}: {exc}"[:1000]
            )

    def _process(self, body: bytes | str, headers: Mapping[str, Any] | None) -> Outcome:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return Outcome("dead", f"malformed JSON: {exc}")
        if not isinstance(data, dict) or not {"id", "type", "payload"} <= data.keys():
            return Outcome(
                "dead", "malformed envelope: expected an object with id, type, payload"
            )
        type_name = str(data["type"])
        cls = self.types.get(type_name)
        if cls is None:
            return Outcome("dead", f"unknown message type {type_name!r}", type_name)
        payload = data["payload"]
        if not isinstance(payload, dict):
            return Outcome("dead", "malformed payload: expected an object", type_name)
        try:
            event = from_payload(
                cls,
                payload,
                message_id=data["id"],
                created_at=data.get("created_at") or datetime.now(UTC),
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or '__all__'}: {error['msg']}"
                for error in exc.errors()
            )
            return Outcome("dead", f"invalid payload: {problems}", type_name)
        _restore_tracing(event, headers or {})
        return self.apply_with_retries(event, type_name)

    def apply_with_retries(self, event: Message[Any], type_name: str) -> Outcome:
        error: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                applied = self.apply(event)
            except Exception as exc:
                error = exc
                logger.warning(
                    "%s: handling %s %s failed (attempt %d/%d): %s",
                    self.name,
                    type_name,
                    event.message_id,
                    attempt,
                    self.max_attempts,
                    exc,
                )
                if not connections[self.using].in_atomic_block:
                    # A lost connection is replaced before the next try.
                    close_old_connections()
                if attempt < self.max_attempts:
                    self.sleep(self.retry_delay * attempt)
                continue
            return Outcome("applied" if applied else "duplicate", type=type_name)
        if isinstance(
            error, OperationalError | InterfaceError
        ) and not _database_usable(self.using):
            # Not the message's fault: the broker redelivers it later.
            return Outcome("retry", f"database unavailable: {error}", type_name)
        return Outcome(
            "dead",
            f"handler failed {self.max_attempts} times: {type(error).__name__}: {error}",
            type_name,
        )

    def apply(self, event: Message[Any]) -> bool:
        """Handle ``event`` once: ``False`` if this consumer already applied it."""
        from messagebus_django.eventstream.models import InboxMessage

        def record(using: str) -> InboxMessage:
            return InboxMessage.objects.using(using).create(
                consumer=self.name,
                message_id=event.message_id,
                type=message_type_name(event),
            )

        # The event is the producer's: record and publish only what it causes.
        uow = unit_of_work_class()(using=self.using)
        return handle_once(self.bus, event, uow, record)

    def count_redelivery(self, key: str) -> int:
        """Count one more redelivery of the delivery ``key``, committed; the count."""
        from messagebus_django.eventstream.models import RedeliveredMessage

        with transaction.atomic(using=self.using, durable=True):
            record, _ = (
                RedeliveredMessage.objects.using(self.using)
                .select_for_update()
                .get_or_create(consumer=self.name, key=key)
            )
            record.count += 1
            record.save(using=self.using, update_fields=["count", "last_at"])
        return record.count

    def forget_redelivery(self, key: str) -> None:
        """The delivery ``key`` is settled: drop its redelivery count."""
        from messagebus_django.eventstream.models import RedeliveredMessage

        RedeliveredMessage.objects.using(self.using).filter(
            consumer=self.name, key=key
        ).delete()


def _restore_tracing(event: Message[Any], headers: Mapping[str, Any]) -> None:
    ids: dict[str, UUID] = {}
    for name in ("correlation_id", "causation_id"):
        try:
            ids[name] = UUID(str(headers[name]))
        except (KeyError, ValueError):
            continue
    if ids:
        event.metadata = event.metadata.model_copy(update=ids)


def _database_usable(using: str) -> bool:
    connection = connections[using]
    try:
        connection.ensure_connection()
    except (OperationalError, InterfaceError):
        return False
    return bool(connection.is_usable())
