"""``manage.py messagebus_purge_handled``: retention for ``HandledEvent``."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections

from messagebus_django.background.retention import purge_handled_events
from messagebus_django.conf import conf
from messagebus_django.management import one_line


class Command(BaseCommand):
    help = (
        "Delete the background handlers' HandledEvent records older than "
        "--older-than days, except those whose django-tasks-db task has not "
        "succeeded (it may run again: the record keeps it a duplicate). "
        "--older-than must be at least MESSAGEBUS_TASKS_LEASE."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--older-than", type=float, required=True, metavar="DAYS")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count, delete nothing."
        )
        parser.add_argument(
            "--database",
            default=None,
            help="The database alias of HandledEvent (default: MESSAGEBUS_DATABASE).",
        )

    def handle(
        self,
        *args: Any,
        older_than: float,
        dry_run: bool,
        database: str | None,
        verbosity: int = 1,
        **options: Any,
    ) -> None:
        age = timedelta(days=older_than)
        if age.total_seconds() < conf.TASKS_LEASE:
            raise CommandError(
                f"--older-than {older_than:g} days is shorter than "
                f"MESSAGEBUS_TASKS_LEASE ({conf.TASKS_LEASE:g} s): a task run "
                "again after its lease could apply its event twice."
            )
        using = database or conf.DATABASE
        if using not in connections:
            raise CommandError(f"--database: no database {using!r} in DATABASES.")
        try:
            purged = purge_handled_events(older_than=age, using=using, dry_run=dry_run)
        except DatabaseError as exc:
            raise CommandError(one_line(exc)) from exc
        if verbosity >= 1:
            verb = "Would delete" if dry_run else "Deleted"
            self.stdout.write(
                f"{verb} {purged.deleted} handled-event records; kept {purged.kept} "
                "whose task may run again."
            )
