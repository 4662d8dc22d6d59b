"""The task every background handler runs through (imported on first use).

Its path, ``messagebus_django.background.tasks.run_background_handler``, is
what a task backend stores; a worker imports it from there. It is declared on
the ``default`` backend and queue; each handler's options pick others with
``Task.using()``, which checks them against their backend.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from messagebus_django.background.compat import framework

__all__ = ["define_task", "run_background_handler"]


def define_task(func: Callable[..., Any]) -> Any:
    """``@task(takes_context=True)``, even where ``"default"`` cannot take it.

    The framework checks a task against its backend when it is made: a
    project whose ``TASKS`` has no ``"default"`` backend, or whose default
    backend's ``QUEUES`` lack ``"default"``, would make this module
    unimportable, and every background handler unusable, whatever its own
    ``backend=`` and ``queue_name=``. There the task is made unchecked; the
    options of each handler are checked when it is enqueued (``using()``, and
    the system check ``messagebus_django.E021``).
    """
    tasks = framework()
    try:
        return tasks.task(takes_context=True)(func)
    except Exception:
        base = importlib.import_module(f"{tasks.__name__}.base")
        task = object.__new__(base.Task)
        # The fields of every version (Django 6.0's have no defaults).
        for name, value in {
            "func": func,
            "priority": base.DEFAULT_TASK_PRIORITY,
            "backend": base.DEFAULT_TASK_BACKEND_ALIAS,
            "queue_name": base.DEFAULT_TASK_QUEUE_NAME,
            "run_after": None,
            "takes_context": True,
        }.items():
            object.__setattr__(task, name, value)
        return task


@define_task
def run_background_handler(
    context: Any, event: dict[str, Any], handler: str, headers: dict[str, str]
) -> str:
    """Apply one background handler to one event, once: ``"applied"`` or ``"duplicate"``.

    ``event`` is the event's wire envelope, ``handler`` its ``module:qualname``.
    """
    from messagebus_django.background.runner import apply

    return apply(
        event,
        handler,
        headers,
        task_id=str(context.task_result.id),
        attempt=int(context.attempt),
    )
