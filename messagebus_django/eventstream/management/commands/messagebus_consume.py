"""``manage.py messagebus_consume``: apply events from a RabbitMQ queue, once each."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from messagebus_django.conf import conf
from messagebus_django.core import AsyncMessageBus, ConfigurationError
from messagebus_django.dispatching.bus import build_bus
from messagebus_django.eventstream.consumer import Consumer, Outcome
from messagebus_django.operations.shutdown import stop_on_signals


class Command(BaseCommand):
    help = (
        "Consume events from a queue bound to the given message types and handle "
        "each through the bus in one transaction with its inbox record. Poison "
        "messages go to <queue>.dead. Stops on SIGTERM/SIGINT."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--consumer",
            default=None,
            metavar="NAME",
            help="A consumer of MESSAGEBUS_CONSUMERS: its name is the queue (and "
            "inbox), its HANDLERS and TYPES what is consumed (instead of "
            "--queue, --handlers and --type).",
        )
        parser.add_argument("--queue", default=None, help="The queue (and inbox) name.")
        parser.add_argument(
            "--type",
            dest="types",
            action="append",
            default=[],
            help="A message type to bind, e.g. book_registered_v1 (repeatable; "
            "default: every event type the handlers listen to).",
        )
        parser.add_argument(
            "--handlers",
            action="append",
            default=[],
            help="Scan these modules into a bus of the consumer's own instead of "
            "using the project's bus (repeatable).",
        )
        parser.add_argument(
            "--max-messages", type=int, default=None, help="Stop after N."
        )
        parser.add_argument(
            "--max-attempts", type=int, default=3, help="Tries per message."
        )
        parser.add_argument(
            "--idle-timeout", type=float, default=1.0, help=argparse.SUPPRESS
        )
        parser.add_argument(
            "--database",
            default=None,
            help="The database alias of the handlers' transactions and the inbox "
            "(default: MESSAGEBUS_DATABASE).",
        )

    def handle(
        self,
        *args: Any,
        consumer: str | None,
        queue: str | None,
        types: list[str],
        handlers: list[str],
        max_messages: int | None,
        max_attempts: int,
        idle_timeout: float,
        database: str | None,
        verbosity: int = 1,
        **options: Any,
    ) -> None:
        from messagebus_django.eventstream.broker_consumer import BrokerConsumer

        source = "--handlers"
        if consumer is not None:
            queue, handlers, types = _declared(consumer, queue, handlers, types)
            source = f"MESSAGEBUS_CONSUMERS[{consumer!r}]['HANDLERS']"
        elif queue is None:
            raise CommandError(
                "Pass --consumer NAME (MESSAGEBUS_CONSUMERS) or --queue."
            )
        if database is not None and database not in connections:
            raise CommandError(f"--database: no database {database!r} in DATABASES.")
        bus: AsyncMessageBus | None = None
        if handlers:
            try:
                bus = build_bus(handlers)
            except (ImportError, ValueError) as exc:
                raise CommandError(f"{source}: {exc}") from exc
        try:
            inbox = Consumer(queue, bus=bus, max_attempts=max_attempts, using=database)
        except ConfigurationError as exc:  # two event classes with one wire name
            raise CommandError(str(exc)) from exc
        known = inbox.types
        if not types:
            types = sorted(
                name for name, cls in known.items() if inbox.bus.has_handler(cls)
            )
        unknown = [t for t in types if t not in known]
        if unknown:
            raise CommandError(f"Unknown message types: {', '.join(unknown)}")
        if not types:
            raise CommandError("No event type to consume: pass --type or --handlers.")
        try:
            broker = BrokerConsumer(inbox, types=types)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        def report(outcome: Outcome) -> None:
            if verbosity < 1:
                return
            line = f"{outcome.status}: {outcome.type or '?'}"
            if outcome.reason:
                line += f" ({outcome.reason})"
            self.stdout.write(line)

        if verbosity >= 1:
            self.stdout.write(f"Consuming {', '.join(types)} from {queue!r}.")
        with stop_on_signals() as stop:
            stats = broker.run(
                should_stop=stop.is_set,
                idle_timeout=idle_timeout,
                max_messages=max_messages,
                on_outcome=report,
            )
        if verbosity >= 1:
            self.stdout.write(
                f"Consumer stopped: applied {stats.applied}, duplicate {stats.duplicate}, "
                f"dead {stats.dead}, given back {stats.retry}."
            )


def _declared(
    name: str, queue: str | None, handlers: list[str], types: list[str]
) -> tuple[str, list[str], list[str]]:
    """The queue, handler modules and types ``MESSAGEBUS_CONSUMERS[name]`` declares."""
    given = [
        option
        for option, value in (
            ("--queue", queue),
            ("--handlers", handlers),
            ("--type", types),
        )
        if value
    ]
    if given:
        raise CommandError(
            f"--consumer takes its queue, handlers and types from "
            f"MESSAGEBUS_CONSUMERS: drop {', '.join(given)}."
        )
    entry = conf.CONSUMERS.get(name)
    if not isinstance(entry, Mapping) or not entry.get("HANDLERS"):
        declared = ", ".join(sorted(map(str, conf.CONSUMERS))) or "none"
        raise CommandError(
            f"--consumer: no consumer {name!r} in MESSAGEBUS_CONSUMERS "
            f"(declared: {declared})."
        )
    return name, list(entry["HANDLERS"]), list(entry.get("TYPES") or ())
