"""The system checks of background handlers (registered by :mod:`messagebus_django.checks`).

===========================  =====================================================
``messagebus_django.E020``   background handlers, but no tasks framework installed
``messagebus_django.E021``   a background handler's backend, queue or priority is
                             refused by ``TASKS``, or its DatabaseBackend's app is
                             not installed
``messagebus_django.W020``   background handlers go to the ImmediateBackend with
                             ``DEBUG`` off: they run in the dispatching process
===========================  =====================================================
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from messagebus_django.background.compat import (
    PIP_INSTALL,
    TasksFrameworkMissing,
    framework,
)
from messagebus_django.core import Registration

__all__ = ["check_background_handlers"]

PREFIX = "messagebus_django"


def check_background_handlers(registrations: list[Registration]) -> list[CheckMessage]:
    """The problems of the background handlers among ``registrations``."""
    background = [r for r in registrations if r.background is not None]
    if not background:
        return []
    try:
        framework()
    except TasksFrameworkMissing as exc:
        return [
            Error(
                str(exc),
                hint=f"{PIP_INSTALL}, add 'django_tasks_db' to INSTALLED_APPS, "
                "set TASKS and migrate (docs/background.md).",
                obj=background[0].handler,
                id=f"{PREFIX}.E020",
            )
        ]
    from messagebus_django.background.enqueue import handler_task

    messages: list[CheckMessage] = []
    immediate: list[str] = []
    for registration in background:
        assert registration.background is not None
        try:
            task = handler_task(registration.background)
            backend = task.get_backend()
        except Exception as exc:
            messages.append(
                Error(
                    f"The background handler {registration.qualified_name} cannot "
                    f"be enqueued: {type(exc).__name__}: {exc}",
                    hint="Name a backend of the TASKS setting, one of its QUEUES, "
                    "and a priority it supports (or none) in "
                    "@async_listen(background=True, ...).",
                    obj=registration.handler,
                    id=f"{PREFIX}.E021",
                )
            )
            continue
        if type(backend).__module__.startswith(
            "django_tasks_db"
        ) and not apps.is_installed("django_tasks_db"):
            messages.append(
                Error(
                    f"The background handler {registration.qualified_name} goes to "
                    "django-tasks-db's DatabaseBackend, and 'django_tasks_db' is not "
                    "in INSTALLED_APPS: its tasks could not be stored.",
                    hint="Add 'django_tasks_db' to INSTALLED_APPS and migrate.",
                    obj=registration.handler,
                    id=f"{PREFIX}.E021",
                )
            )
        if type(backend).__name__ == "ImmediateBackend":
            immediate.append(registration.qualified_name)
    if immediate and not settings.DEBUG:
        messages.append(
            Warning(
                f"The background handlers {', '.join(immediate)} go to the "
                "ImmediateBackend: they run in the dispatching process right after "
                "the commit, with no worker and no way to run them again.",
                hint="Set TASKS to a backend with a worker, e.g. django-tasks-db's "
                "DatabaseBackend (docs/background.md); silence "
                f"{PREFIX}.W020 where this is meant.",
                id=f"{PREFIX}.W020",
            )
        )
    return messages
