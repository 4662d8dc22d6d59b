"""``manage.py messagebus_relay``: send what the outbox still holds."""

from __future__ import annotations

import argparse
import contextlib
import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections, connections

from messagebus_django.conf import conf
from messagebus_django.eventstream.management import DATABASE_OUTAGES, one_line
from messagebus_django.eventstream.relay import (
    DEFAULT_BATCH_SIZE,
    OutboxRelay,
    RelayReport,
)
from messagebus_django.operations.shutdown import stop_on_signals

logger = logging.getLogger("messagebus_django.eventstream.relay")

BACKOFF = (1.0, 30.0)
"""Seconds between tries while the database or the broker is down: the wait
doubles from the first to the longest."""


class Command(BaseCommand):
    help = (
        "Send the outbox's pending published events to the broker, in creation "
        "order. Loops until SIGTERM/SIGINT unless --once, waiting out database "
        "and broker outages. Safe to run several at once."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="One sweep, then exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds between sweeps (default 1).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Messages claimed at once (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--database",
            default=None,
            help="The database alias of the outbox (default: MESSAGEBUS_DATABASE).",
        )

    def handle(
        self,
        *args: Any,
        once: bool,
        interval: float,
        batch_size: int,
        database: str | None,
        verbosity: int = 1,
        **options: Any,
    ) -> None:
        if batch_size < 1 or interval < 0:
            raise CommandError(
                "--batch-size must be at least 1 and --interval not negative."
            )
        using = database or conf.DATABASE
        if using not in connections:
            raise CommandError(f"--database: no database {using!r} in DATABASES.")
        try:
            relay = OutboxRelay(batch_size=batch_size, using=using)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        total = RelayReport()
        first, longest = BACKOFF
        delay = first
        with stop_on_signals() as stop:
            while True:
                try:
                    report = relay.relay_pending(should_stop=stop.is_set)
                except DATABASE_OUTAGES as exc:
                    if once:
                        raise CommandError(one_line(exc)) from exc
                    self._outage(
                        f"Database unavailable ({one_line(exc)})", delay, verbosity
                    )
                    self._forget_connection(using)
                    if stop.wait(delay):
                        break
                    delay = min(delay * 2, longest)
                    continue
                except DatabaseError as exc:
                    raise CommandError(one_line(exc)) from exc
                total += report
                if verbosity >= 1 and (report.sent or report.failed or report.dead):
                    self.stdout.write(self._describe(report))
                if report.unavailable:
                    wait = delay
                    delay = min(delay * 2, longest)
                    if not once:
                        self._outage("Broker unavailable", wait, verbosity)
                else:
                    wait, delay = interval, first
                if once or stop.wait(wait):
                    break
                close_old_connections()
        if verbosity >= 1:
            self.stdout.write(f"Relay stopped. {self._describe(total)}")
        if once and total.unavailable:
            raise CommandError(
                "The broker was unavailable; messages stay in the outbox."
            )

    def _outage(self, what: str, delay: float, verbosity: int) -> None:
        line = f"{what}; retrying in {delay:g} s."
        logger.warning(line)
        if verbosity >= 1:
            self.stderr.write(line)

    @staticmethod
    def _forget_connection(using: str) -> None:
        # A broken connection is not reused: the next sweep connects afresh.
        with contextlib.suppress(Exception):
            connections[using].close()

    @staticmethod
    def _describe(report: RelayReport) -> str:
        return f"sent {report.sent}, failed {report.failed}, dead {report.dead}"
