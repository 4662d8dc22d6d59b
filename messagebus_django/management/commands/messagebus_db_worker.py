"""``manage.py messagebus_db_worker``: django-tasks-db's ``db_worker``, after
putting back the background tasks a dead worker left RUNNING."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import TYPE_CHECKING, Any

from django.core.management.base import CommandError

from messagebus_django.background.recovery import requeue_tasks
from messagebus_django.conf import conf
from messagebus_django.management import seconds

_MISSING: Exception | None = None
if TYPE_CHECKING:
    from django_tasks_db.management.commands.db_worker import (
        Command as DbWorkerCommand,
    )
else:
    try:
        from django_tasks_db.management.commands.db_worker import (
            Command as DbWorkerCommand,
        )
    except (ImportError, ValueError) as exc:  # pragma: no cover - the tasks extra
        _MISSING = exc
        from django.core.management.base import BaseCommand as DbWorkerCommand


class Command(DbWorkerCommand):
    help = (
        "Run django-tasks-db's db_worker, first putting back to READY the "
        "background handlers' tasks RUNNING for longer than "
        "MESSAGEBUS_TASKS_LEASE (their worker died): what "
        "'messagebus_requeue_tasks && db_worker' does. Takes db_worker's options."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        if _MISSING is None:
            super().add_arguments(parser)
        parser.add_argument(
            "--requeue-older-than",
            type=seconds,
            default=None,
            metavar="SECONDS",
            help="RUNNING for longer than this is stale (default: "
            "MESSAGEBUS_TASKS_LEASE).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if _MISSING is not None:  # pragma: no cover - the tasks extra
            raise CommandError(
                f"django-tasks-db cannot be imported ({_MISSING}): "
                'pip install "messagebus-django[tasks]"'
            )
        older_than = options.pop("requeue_older_than")
        if older_than is None:
            older_than = conf.TASKS_LEASE
        try:
            requeued = requeue_tasks(
                older_than=older_than, backend=options.get("backend_name")
            )
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        if requeued.stale:
            self.stdout.write(
                f"Re-enqueued {requeued.stale} stale background task(s) "
                f"(RUNNING for more than {older_than:g} s)."
            )
        super().handle(*args, **options)
