"""Retention for :class:`~messagebus_django.models.HandledEvent`.

A ``HandledEvent`` row is what makes a second run of a background handler's
task a duplicate. Deleting it while that task may still run again would let
the run apply its event a second time, so :func:`purge_handled_events` keeps,
whatever their age:

- with django-tasks-db, the rows whose task result still exists and has not
  SUCCEEDED: a READY or RUNNING task (a dead worker's, which
  ``messagebus_requeue_tasks`` puts back once ``MESSAGEBUS_TASKS_LEASE`` has
  passed) or a FAILED one (``messagebus_requeue_tasks --failed``) may run
  again. A row whose task succeeded, or whose result was pruned, goes;
- and, by the command's rule, the rows younger than ``MESSAGEBUS_TASKS_LEASE``.

Other backends' tasks are not looked at (they are not recovered by
``messagebus_requeue_tasks``): choose an age beyond their own retries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from messagebus_django.background.enqueue import TASK_PATH
from messagebus_django.models import HandledEvent

__all__ = ["Purged", "purge_handled_events"]

BATCH = 500
"""Rows examined (and deleted) per query."""


@dataclass(frozen=True)
class Purged:
    """What :func:`purge_handled_events` deleted, and kept for their task."""

    deleted: int
    kept: int


def purge_handled_events(
    *, older_than: timedelta, using: str, dry_run: bool = False
) -> Purged:
    """Delete the ``HandledEvent`` rows of ``using`` handled before ``older_than``
    ago, except those whose task may still run again (see the module)."""
    cutoff = timezone.now() - older_than
    old = HandledEvent.objects.using(using).filter(handled_at__lt=cutoff)
    deleted = kept = 0
    last = 0
    while True:
        batch = list(
            old.filter(pk__gt=last).order_by("pk").values_list("pk", "task_id")[:BATCH]
        )
        if not batch:
            break
        last = batch[-1][0]
        pending = _unfinished({task_id for _, task_id in batch})
        doomed = [pk for pk, task_id in batch if task_id not in pending]
        kept += len(batch) - len(doomed)
        if dry_run:
            deleted += len(doomed)
            continue
        with transaction.atomic(using=using):
            count, _ = HandledEvent.objects.using(using).filter(pk__in=doomed).delete()
        deleted += count
    return Purged(deleted=deleted, kept=kept)


def _unfinished(task_ids: Iterable[str]) -> set[str]:
    """Those of ``task_ids`` that are django-tasks-db tasks not yet SUCCESSFUL."""
    if not apps.is_installed("django_tasks_db"):
        return set()
    from django_tasks_db.models import DBTaskResult

    ids = {}
    for task_id in task_ids:
        try:
            ids[UUID(task_id)] = task_id
        except ValueError:  # not a django-tasks-db task ("" outside a task)
            continue
    if not ids:
        return set()
    unfinished = (
        DBTaskResult.objects.filter(pk__in=ids, task_path=TASK_PATH)
        .exclude(status="SUCCESSFUL")
        .values_list("pk", flat=True)
    )
    return {ids[pk] for pk in unfinished}
