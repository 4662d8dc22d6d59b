"""Running background tasks again: stale ones (their worker died) and failed ones.

django-tasks-db's ``db_worker`` marks a task RUNNING when it claims it, and
nothing puts it back if the worker process is killed (SIGKILL, the OOM
killer, a lost machine): the task would stay RUNNING for ever. Neither the
tasks framework nor django-tasks-db retries a failed task either. So the
background handlers' tasks that have been RUNNING for longer than a lease
(``MESSAGEBUS_TASKS_LEASE``), and on demand the FAILED ones, are put back to
READY: a worker runs them again. A second run of a handler that had in fact
committed is harmless: its :class:`~messagebus_django.models.HandledEvent`
row makes it a duplicate.

Only the background handlers' task and the event stream's delivery task (the
Tasks transport: its consumers' inbox makes a second run harmless too) are
touched, on django-tasks-db backends; other backends have their own ways (or
none) of running a task again. A failed delivery is not re-enqueued by
``failed``: it marked its outbox row dead, and the outbox's *Retry* is the way
to send it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.utils import timezone

from messagebus_django.background.enqueue import TASK_PATH

__all__ = ["DELIVERY_TASK_PATH", "Requeued", "requeue_tasks"]

DELIVERY_TASK_PATH = "messagebus_django.eventstream.task_consumer.deliver_event"
"""The Tasks transport's delivery task (named, not imported: the event stream
is an app of its own, above this package)."""


@dataclass(frozen=True)
class Requeued:
    """How many tasks :func:`requeue_tasks` put back to READY."""

    stale: int
    failed: int


def requeue_tasks(
    *, older_than: float, failed: bool = False, backend: str | None = None
) -> Requeued:
    """Put background-handler (and delivery) tasks back to READY; how many.

    The RUNNING ones started more than ``older_than`` seconds ago and, with
    ``failed``, the FAILED background-handler ones; of every django-tasks-db
    backend, or of the backend named ``backend``. A ``LookupError`` if django-tasks-db is not
    installed.
    """
    if not apps.is_installed("django_tasks_db"):
        raise LookupError(
            "django-tasks-db is not installed (INSTALLED_APPS has no "
            "'django_tasks_db'): its tasks are the ones this re-enqueues"
        )
    from django_tasks_db.models import DBTaskResult

    tasks = DBTaskResult.objects.all()
    if backend is not None:
        tasks = tasks.filter(backend_name=backend)
    cutoff = timezone.now() - timedelta(seconds=older_than)
    stale = tasks.filter(
        task_path__in=(TASK_PATH, DELIVERY_TASK_PATH),
        status="RUNNING",
        started_at__lt=cutoff,
    ).update(status="READY")
    again = 0
    if failed:
        again = tasks.filter(task_path=TASK_PATH, status="FAILED").update(
            status="READY", finished_at=None
        )
    return Requeued(stale=stale, failed=again)
