"""``manage.py messagebus_purge``: retention for the message store and the inbox."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections
from django.db.models import Q
from django.utils import timezone

from messagebus_django.conf import conf
from messagebus_django.management import one_line
from messagebus_django.models import PENDING, InboxMessage, StoredMessage


class Command(BaseCommand):
    help = (
        "Delete stored messages and inbox records older than --older-than days. "
        "Pending outbox messages are never deleted; dead ones only with --include-dead."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--older-than", type=float, required=True, metavar="DAYS")
        parser.add_argument("--include-dead", action="store_true")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count, delete nothing."
        )
        parser.add_argument(
            "--database",
            default=None,
            help="The database alias of the tables (default: MESSAGEBUS_DATABASE).",
        )

    def handle(
        self,
        *args: Any,
        older_than: float,
        include_dead: bool,
        dry_run: bool,
        database: str | None,
        verbosity: int = 1,
        **options: Any,
    ) -> None:
        if older_than < 0:
            raise CommandError("--older-than must not be negative.")
        using = database or conf.DATABASE
        if using not in connections:
            raise CommandError(f"--database: no database {using!r} in DATABASES.")
        try:
            self._purge(older_than, include_dead, dry_run, using, verbosity)
        except DatabaseError as exc:
            raise CommandError(one_line(exc)) from exc

    def _purge(
        self,
        older_than: float,
        include_dead: bool,
        dry_run: bool,
        using: str,
        verbosity: int,
    ) -> None:
        cutoff = timezone.now() - timedelta(days=older_than)
        done = ~PENDING if include_dead else ~PENDING & Q(dead=False)
        stored = StoredMessage.objects.using(using).filter(done, created_at__lt=cutoff)
        inbox = InboxMessage.objects.using(using).filter(received_at__lt=cutoff)
        if dry_run:
            if verbosity >= 1:
                self.stdout.write(
                    f"Would delete {stored.count()} stored messages and "
                    f"{inbox.count()} inbox records."
                )
            return
        stored_count, _ = stored.delete()
        inbox_count, _ = inbox.delete()
        if verbosity >= 1:
            self.stdout.write(
                f"Deleted {stored_count} stored messages and {inbox_count} inbox "
                "records."
            )
