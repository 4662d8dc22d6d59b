"""The Tasks transport: published events to this project's own consumers, through Django Tasks.

No broker: :meth:`TasksTransport.send` enqueues one task,
:data:`~messagebus_django.eventstream.task_consumer.deliver_event`, on a
backend of Django's ``TASKS`` setting (``django.tasks`` on Django 6.0+, the
``django-tasks`` backport on 5.2). The backend's worker runs it: it applies
the event to each consumer of ``MESSAGEBUS_CONSUMERS`` that takes its type,
as ``messagebus_consume`` would (inbox, retries, poison).

When the backend stores its tasks in ``MESSAGEBUS_DATABASE`` (django-tasks-db's
``DatabaseBackend`` routed there), the task is enqueued **inside the
command's transaction**, by :func:`enqueue_in_transaction` (the receiver of
:data:`~messagebus_django.signals.messages_stored`), and the outbox row is
marked sent in it: the command and its delivery commit or vanish together,
and no relay is needed. With any other backend (the immediate one, a
backend on another store) the relay sends it after commit, like any
transport.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError, router
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from messagebus_django.conf import conf
from messagebus_django.eventstream.transports import (
    DEFAULT_TRANSPORT,
    Envelope,
    Transport,
    TransportUnavailable,
    transports,
)

if TYPE_CHECKING:
    from messagebus_django.core import Message

__all__ = ["TasksTransport", "enqueue_in_transaction", "task_backends"]

OPTIONS = frozenset({"backend", "queue_name", "priority"})
CONSUMER_KEYS = frozenset({"HANDLERS", "TYPES"})


def task_backends() -> Any:
    """The Tasks framework's ``task_backends`` (``django.tasks`` preferred)."""
    from messagebus_django.background.compat import backends

    return backends()


class TasksTransport(Transport):
    """Hands each event to a Django task that applies it to ``MESSAGEBUS_CONSUMERS``.

    ``OPTIONS``: ``backend`` (the alias in ``TASKS``, default ``"default"``),
    ``queue_name`` (default ``"default"``: the queue ``db_worker`` runs by
    default) and ``priority`` (default the task's).
    """

    def __init__(
        self,
        *,
        backend: str = "default",
        queue_name: str = "default",
        priority: int | None = None,
    ) -> None:
        self.backend = backend
        self.queue_name = queue_name
        self.priority = priority

    def task(self) -> Any:
        """The delivery task, on this transport's backend and queue."""
        from messagebus_django.eventstream.task_consumer import deliver_event

        return deliver_event.using(
            backend=self.backend, queue_name=self.queue_name, priority=self.priority
        )

    def wanted(self, type_name: str) -> bool:
        """Whether a consumer may take ``type_name``.

        Known only when every consumer lists its ``TYPES``; otherwise the
        task decides, in the worker (which imports the consumers' handlers).
        """
        consumers = conf.CONSUMERS.values()
        if any(not entry.get("TYPES") for entry in consumers):
            return True
        return any(type_name in entry["TYPES"] for entry in consumers)

    def send(self, envelope: Envelope, *, timeout: float | None = None) -> None:
        try:
            self.enqueue(envelope)
        except (OperationalError, InterfaceError) as exc:
            # The task store (a database) is away: the event waits.
            raise TransportUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def enqueue(self, envelope: Envelope) -> None:
        """Enqueue the delivery of ``envelope`` if a consumer may want it; errors raised as they are."""
        if self.wanted(envelope.type):
            headers = {"message_type": envelope.type, **envelope.headers}
            self.task().enqueue(envelope.body().decode(), headers)

    def enqueues_in_transaction(self, using: str) -> bool:
        """Whether the backend stores its tasks in the database ``using``.

        Then an enqueued task commits or rolls back with the command.
        """
        return stores_tasks_in(task_backends()[self.backend], using)

    @classmethod
    def check(cls, alias: str, options: Mapping[str, Any]) -> list[CheckMessage]:
        """The options, the ``TASKS`` backend, ``MESSAGEBUS_CONSUMERS``."""
        messages: list[CheckMessage] = []

        def error(problem: str, hint: str | None = None) -> None:
            messages.append(
                Error(
                    f"MESSAGEBUS_TRANSPORTS[{alias!r}]: {problem}",
                    hint=hint,
                    id="messagebus_django.E013",
                )
            )

        unknown = set(options) - OPTIONS
        if unknown:
            error(
                f"unknown OPTIONS {sorted(unknown)} of the Tasks transport.",
                "It takes backend, queue_name and priority.",
            )
        messages.extend(check_consumers(alias))
        try:
            backends = task_backends()
        except ImproperlyConfigured as exc:  # no Tasks framework installed
            error(str(exc))
            return messages
        name = options.get("backend", "default")
        if name not in backends.settings:
            error(
                f"the Tasks transport's backend {name!r} is not in TASKS.",
                "Name a backend of the TASKS setting in OPTIONS['backend'].",
            )
            return messages
        if alias != DEFAULT_TRANSPORT and not stores_tasks_in(
            backends[name], conf.DATABASE
        ):
            # Only "default" is swept by the relay: another one must enqueue
            # inside the command's transaction, or an event could be lost.
            error(
                f"the Tasks transport's backend {name!r} does not store its tasks "
                "in MESSAGEBUS_DATABASE, so only the 'default' transport can use it.",
                "Use django-tasks-db's DatabaseBackend (its tasks commit with the "
                "command), or make this the 'default' transport.",
            )
        return messages


def check_consumers(alias: str) -> list[CheckMessage]:
    """``MESSAGEBUS_CONSUMERS`` is ``{"name": {"HANDLERS": [...], "TYPES": [...]}}``."""
    consumers: object = conf.CONSUMERS
    where = f"MESSAGEBUS_TRANSPORTS[{alias!r}]: MESSAGEBUS_CONSUMERS"
    hint = (
        'Write {"name": {"HANDLERS": ["app.consumers"], '
        '"TYPES": ["book_registered_v1"]}} (TYPES optional).'
    )
    if not isinstance(consumers, dict) or not consumers:
        return [
            Error(
                f"{where} declares no consumer: the Tasks transport would deliver "
                f"to nobody (got {consumers!r}).",
                hint=hint,
                id="messagebus_django.E013",
            )
        ]
    messages: list[CheckMessage] = []
    for name, entry in consumers.items():
        if not (
            isinstance(name, str)
            and name
            and isinstance(entry, dict)
            and set(entry) <= CONSUMER_KEYS
            and _strings(entry.get("HANDLERS"))
            and (entry.get("TYPES") is None or _strings(entry.get("TYPES")))
        ):
            messages.append(
                Error(
                    f"{where}: the entry {name!r} is {entry!r}.",
                    hint=hint,
                    id="messagebus_django.E013",
                )
            )
    return messages


def _strings(value: object) -> bool:
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(item, str) and item for item in value)
    )


def stores_tasks_in(backend: object, using: str) -> bool:
    """Whether ``backend`` is django-tasks-db's, writing its tasks to ``using``."""
    try:
        from django_tasks_db.backend import DatabaseBackend
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # django-tasks-db is not installed
        return False
    if not isinstance(backend, DatabaseBackend):
        return False
    return bool(router.db_for_write(DBTaskResult) == using)


@functools.cache
def _is_tasks_transport(path: str) -> bool:
    try:
        backend = import_string(path)
    except ImportError:
        return False
    return isinstance(backend, type) and issubclass(backend, TasksTransport)


def enqueue_in_transaction(
    sender: object,
    *,
    messages: Sequence[Message[Any]],
    published: Sequence[Any],
    using: str,
    **kwargs: object,
) -> None:
    """The receiver of :data:`~messagebus_django.signals.messages_stored`.

    For each Tasks transport whose backend stores tasks in ``using``: enqueue
    the command's published events now, in its transaction; when it is the
    ``"default"`` transport, mark them sent there too (the relay has nothing
    left to do). An error fails the command: it would fail its COMMIT anyway.
    """
    from messagebus_django.models import StoredMessage

    ids = set(published)
    envelopes: list[Envelope] | None = None
    for alias, entry in transports.settings.items():
        if not _is_tasks_transport(str(entry.get("BACKEND", ""))):
            continue
        transport = transports[alias]
        assert isinstance(transport, TasksTransport)
        if not transport.enqueues_in_transaction(using):
            continue
        if envelopes is None:
            envelopes = [Envelope.of(m) for m in messages if m.message_id in ids]
        for envelope in envelopes:
            transport.enqueue(envelope)
        if alias == DEFAULT_TRANSPORT:
            StoredMessage.objects.using(using).filter(pk__in=ids).update(
                published_at=timezone.now(), attempts=F("attempts") + 1
            )
