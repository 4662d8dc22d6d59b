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

Only the background handlers' task is touched, on django-tasks-db backends;
other backends have their own ways (or none) of running a task again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.utils import timezone

from messagebus_django.background.enqueue import TASK_PATH

__all__ = ["Requeued", "requeue_tasks"]


@dataclass(frozen=True)
class Requeued:
    """How many tasks :func:`requeue_tasks` put back to READY."""

    stale: int
    failed: int


def requeue_tasks(
    *, older_than: float, failed: bool = False, backend: str | None = None
) -> Requeued:
    """Put background-handler tasks back to READY; how many.

    The RUNNING ones started more than ``older_than`` seconds ago and, with
    ``failed``, the FAILED ones; of every django-tasks-db backend, or of the
    backend named ``backend``. A ``LookupError`` if django-tasks-db is not
    installed.
    """
    if not apps.is_installed("django_tasks_db"):
        raise LookupError(
            "django-tasks-db is not installed (INSTALLED_APPS has no "
            "'django_tasks_db'): its tasks are the ones this re-enqueues"
        )
    from django_tasks_db.models import DBTaskResult

    tasks = DBTaskResult.objects.filter(task_path=TASK_PATH)
    if backend is not None:
        tasks = tasks.filter(backend_name=backend)
    cutoff = timezone.now() - timedelta(seconds=older_than)
    stale = tasks.filter(status="RUNNING", started_at__lt=cutoff).update(status="READY")
    again = 0
    if failed:
        again = tasks.filter(status="FAILED").update(status="READY", finished_at=None)
    return Requeued(stale=stale, failed=again)
