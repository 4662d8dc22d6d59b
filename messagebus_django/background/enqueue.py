"""Enqueueing the background handlers a command's handling deferred.

:meth:`~messagebus_django.DjangoUnitOfWork.end` calls :func:`enqueue_deferred`
inside the command's ``atomic`` block, once its handlers are done and it is
going to commit. Each task goes in *inside* that transaction when its backend
stores tasks in the same database (django-tasks-db's ``DatabaseBackend``
routed to the unit of work's alias): the command and its background work
commit, or vanish, together. Any other backend gets it right after COMMIT
(``transaction.on_commit``): a rolled-back command enqueues nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.apps import apps
from django.core.signals import setting_changed
from django.db import router, transaction
from django.dispatch import receiver

from messagebus_django.background.compat import framework
from messagebus_django.core import Message, message_type_name
from messagebus_django.core.eventstream import wire_envelope
from messagebus_django.core.handlers import Background, MessageHandler, _qualified_name
from messagebus_django.core.messages import payload_of

__all__ = [
    "TASK_PATH",
    "Deferred",
    "enqueue_deferred",
    "handler_task",
    "stores_in",
    "task_arguments",
]

logger = logging.getLogger("messagebus_django.background")

TASK_PATH = "messagebus_django.background.tasks.run_background_handler"
"""The dotted path of the one task every background handler runs through."""


@dataclass(frozen=True)
class Deferred:
    """A background handler the bus deferred, with the event it is for."""

    event: Message[Any]
    handler: MessageHandler
    options: Background


def handler_task(options: Background) -> Any:
    """The task of background handlers, on the backend, queue and priority asked.

    An option the backend refuses (an unknown backend, a queue not in its
    ``QUEUES``, a priority it does not support) raises the framework's error.
    """
    from messagebus_django.background.tasks import run_background_handler

    changes = {
        name: value
        for name, value in (
            ("backend", options.backend),
            ("queue_name", options.queue_name),
            ("priority", options.priority),
        )
        if value is not None
    }
    task = run_background_handler.using(**changes)
    # using() checks a changed task only; the backend may have changed since.
    task.get_backend().validate_task(task)
    return task


def task_arguments(
    event: Message[Any],
    handler: MessageHandler,
    payload: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The task's JSON arguments: the event's wire envelope, the handler, tracing.

    ``payload``: the event's :func:`~messagebus_django.core.payload_of`, when
    the caller has it already (the stored row's).
    """
    headers = {
        name: str(value)
        for name in ("correlation_id", "causation_id")
        if (value := getattr(event.metadata, name)) is not None
    }
    return {
        "event": wire_envelope(
            message_id=event.message_id,
            created_at=event.created_at,
            type=message_type_name(event),
            payload=payload_of(event) if payload is None else payload,
        ),
        "handler": _qualified_name(handler),
        "headers": headers,
    }


def stores_in(backend: Any, using: str) -> bool:
    """Whether ``backend`` writes its tasks in the database ``using``, transactionally.

    True for django-tasks-db's ``DatabaseBackend`` when its task results are
    routed to ``using``.
    """
    if not apps.is_installed("django_tasks_db"):
        return False
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    return isinstance(backend, DatabaseBackend) and (
        router.db_for_write(DBTaskResult) == using
    )


def enqueue_deferred(
    deferred: list[Deferred],
    using: str,
    payloads: Mapping[UUID, Mapping[str, Any]] | None = None,
) -> None:
    """Enqueue each deferred handler's task: now, or once ``using`` commits.

    Called inside the command's ``atomic`` block on ``using``. ``payloads``:
    the events' payloads by message id, as the message store wrote them.
    """
    framework()
    for item in deferred:
        task = _tasks.get(item.options)
        if task is None:
            task = _tasks[item.options] = handler_task(item.options)
        payload = None if payloads is None else payloads.get(item.event.message_id)
        kwargs = task_arguments(item.event, item.handler, payload)
        if stores_in(task.get_backend(), using):
            result = task.enqueue(**kwargs)
            _log_enqueued(result, item, "in the command's transaction")
        else:
            transaction.on_commit(
                functools.partial(_enqueue_after_commit, task, kwargs, item),
                using=using,
            )


_tasks: dict[Background, Any] = {}
""":func:`handler_task` of each options met, until a setting changes."""


@receiver(setting_changed, dispatch_uid="messagebus_django.background.enqueue")
def _forget_tasks(**kwargs: Any) -> None:
    # TASKS names the backends, INSTALLED_APPS and routers decide where they write.
    _tasks.clear()


def _enqueue_after_commit(task: Any, kwargs: dict[str, Any], item: Deferred) -> None:
    try:
        result = task.enqueue(**kwargs)
    except Exception:
        # The command has committed: say loudly what will not run.
        logger.exception(
            "Could not enqueue the background handler %s for %s %s after commit: "
            "it will not run",
            kwargs["handler"],
            message_type_name(item.event),
            item.event.message_id,
        )
        return
    _log_enqueued(result, item, "after commit")


def _log_enqueued(result: Any, item: Deferred, when: str) -> None:
    logger.debug(
        "Enqueued task %s: background handler %s for %s %s, %s",
        result.id,
        _qualified_name(item.handler),
        message_type_name(item.event),
        item.event.message_id,
        when,
    )
