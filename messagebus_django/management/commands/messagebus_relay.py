"""``manage.py messagebus_relay``: send what the outbox still holds."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from messagebus_django.relay import OutboxRelay, RelayReport
from messagebus_django.signals import stop_on_signals


class Command(BaseCommand):
    help = (
        "Send the outbox's pending published events to the broker, in creation "
        "order. Loops until SIGTERM/SIGINT unless --once. Safe to run several at once."
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
            default=100,
            help="Messages per transaction (default 100).",
        )

    def handle(
        self, *args: Any, once: bool, interval: float, batch_size: int, **options: Any
    ) -> None:
        if batch_size < 1 or interval < 0:
            raise CommandError(
                "--batch-size must be at least 1 and --interval not negative."
            )
        try:
            relay = OutboxRelay(batch_size=batch_size)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        total = RelayReport()
        with stop_on_signals() as stop:
            while True:
                report = relay.relay_pending(should_stop=stop.is_set)
                total += report
                if report.sent or report.failed or report.dead:
                    self.stdout.write(self._describe(report))
                if report.unavailable:
                    self.stderr.write("Broker unavailable; will retry.")
                if once or stop.wait(interval):
                    break
                close_old_connections()
        self.stdout.write(f"Relay stopped. {self._describe(total)}")
        if once and total.unavailable:
            raise CommandError(
                "The broker was unavailable; messages stay in the outbox."
            )

    @staticmethod
    def _describe(report: RelayReport) -> str:
        return f"sent {report.sent}, failed {report.failed}, dead {report.dead}"
