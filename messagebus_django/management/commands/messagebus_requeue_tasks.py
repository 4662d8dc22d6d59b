"""``manage.py messagebus_requeue_tasks``: run stale and failed background tasks again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messagebus_django.background.recovery import requeue_tasks
from messagebus_django.conf import conf
from messagebus_django.management import seconds


class Command(BaseCommand):
    help = (
        "Put the background handlers' tasks of django-tasks-db back to READY: "
        "those RUNNING for longer than MESSAGEBUS_TASKS_LEASE (their worker "
        "died; the Tasks transport's delivery tasks too) and, with --failed, "
        "the FAILED background-handler ones. Run it before starting "
        "db_worker and every few minutes (cron); a handler that had in fact "
        "committed is not applied twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=seconds,
            default=None,
            metavar="SECONDS",
            help="RUNNING for longer than this is stale (default: "
            "MESSAGEBUS_TASKS_LEASE).",
        )
        parser.add_argument(
            "--failed",
            action="store_true",
            help="Re-enqueue the FAILED background tasks too (after a fix).",
        )
        parser.add_argument(
            "--backend", default=None, help="Only the tasks of this TASKS backend."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = options["older_than"]
        if older_than is None:
            older_than = conf.TASKS_LEASE
        try:
            requeued = requeue_tasks(
                older_than=older_than,
                failed=options["failed"],
                backend=options["backend"],
            )
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        message = (
            f"Re-enqueued {requeued.stale} stale background task(s) "
            f"(RUNNING for more than {older_than:g} s)"
        )
        if options["failed"]:
            message += f" and {requeued.failed} failed one(s)"
        self.stdout.write(f"{message}.")
