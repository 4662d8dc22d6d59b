"""The consumer on Django Tasks: the task the Tasks transport enqueues.

:data:`deliver_event` runs in the task backend's worker (``manage.py
db_worker`` for django-tasks-db). It hands the event's wire envelope to a
:class:`~messagebus_django.eventstream.consumer.Consumer` for each consumer of
``MESSAGEBUS_CONSUMERS`` that takes its type: each applies it once (its inbox
record and its handlers in one transaction), retrying a failing handler, as
``messagebus_consume`` does. What cannot be applied is never silent: the
outbox row of the event is marked dead with the reason (the admin's *Retry*
action makes it pending again, and the relay sends it again), the error is
logged, and the task fails with :class:`DeliveryFailed` (its result, in
django-tasks-db's admin, says why).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.db import DatabaseError
from django.db.models import F

from messagebus_django.background.compat import framework
from messagebus_django.conf import conf
from messagebus_django.dispatching.bus import build_bus
from messagebus_django.eventstream.consumer import Consumer

__all__ = ["DeliveryFailed", "deliver_event", "local_consumers"]

logger = logging.getLogger(__name__)

_task: Callable[[Callable[..., Any]], Any] = framework().task


class DeliveryFailed(Exception):
    """A consumer could not apply the event: the task fails with this."""


_lock = threading.Lock()
_consumers: dict[str, tuple[Consumer, frozenset[str]]] = {}


def local_consumers() -> list[tuple[Consumer, frozenset[str]]]:
    """A :class:`Consumer` per entry of ``MESSAGEBUS_CONSUMERS``, with the types it takes.

    Made once per process (each scans its ``HANDLERS`` into a bus of its
    own), again after a settings change.
    """
    found = []
    with _lock:
        for name, entry in conf.CONSUMERS.items():
            made = _consumers.get(name)
            if made is None:
                consumer = Consumer(name, bus=build_bus(list(entry["HANDLERS"])))
                types = frozenset(
                    entry.get("TYPES")
                    or (
                        type_name
                        for type_name, cls in consumer.types.items()
                        if consumer.bus.has_handler(cls)
                    )
                )
                made = _consumers[name] = (consumer, types)
            found.append(made)
    return found


def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("MESSAGEBUS_"):
        with _lock:
            _consumers.clear()


setting_changed.connect(_forget, dispatch_uid="messagebus_django.task_consumer")


@_task
def deliver_event(body: str, headers: dict[str, Any]) -> dict[str, str]:
    """Apply one event (its wire envelope) to the consumers that take its type.

    Returns ``{consumer: "applied" | "duplicate"}``; raises
    :class:`DeliveryFailed` when one could not apply it, after the others
    had their turn.
    """
    type_name = str(headers.get("message_type") or _type_of(body))
    outcomes: dict[str, str] = {}
    failures: list[str] = []
    for consumer, types in local_consumers():
        if type_name not in types:
            continue
        outcome = consumer.process(body, headers)
        outcomes[consumer.name] = outcome.status
        if outcome.status in ("dead", "retry"):
            failures.append(f"{consumer.name}: {outcome.reason}")
    if failures:
        reason = "; ".join(failures)
        logger.error("Delivering %s failed: %s", type_name, reason)
        _mark_dead(body, reason)
        raise DeliveryFailed(reason)
    return outcomes


def _type_of(body: str) -> str:
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        return str(json.loads(body)["type"])
    return "?"


def _mark_dead(body: str, reason: str) -> None:
    """Show the event as dead in the outbox (its row, if it is this project's)."""
    from messagebus_django.models import StoredMessage

    try:
        message_id = json.loads(body)["id"]
        StoredMessage.objects.using(conf.DATABASE).filter(
            pk=message_id, published=True
        ).update(
            dead=True,
            published_at=None,
            last_error=f"DeliveryFailed: {reason}"[:2000],
            attempts=F("attempts") + 1,
        )
    except (ValueError, TypeError, KeyError, ValidationError, DatabaseError) as exc:
        # Not an envelope of ours, or the database is away: the failed task
        # and the log say it.
        logger.warning("Could not mark the event dead in the outbox: %s", exc)
