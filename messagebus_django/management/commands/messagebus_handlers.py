"""``manage.py messagebus_handlers``: the message types and their handlers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messagebus_django.dispatching.bus import handler_modules
from messagebus_django.operations.introspection import (
    catalog_document,
    dumps,
    format_catalog,
    message_catalog,
    missing_handlers_message,
)


class Command(BaseCommand):
    help = (
        "List every command and event type the project knows (handled on the "
        "project's bus or defined in an installed app) with its wire name, "
        "whether it is published, and its handlers. Commands without a handler "
        "are flagged NO HANDLER. -v 0 prints only the totals, -v 2 the scanned "
        "modules too."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="Print the listing as JSON."
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="Fail (exit code 1) when a command has no handler: for CI.",
        )

    def handle(self, *args: Any, verbosity: int = 1, **options: Any) -> None:
        catalog = message_catalog()
        if options["json"]:
            # Machine output: the same document at every verbosity.
            self.stdout.write(dumps(catalog_document(catalog)))
        elif verbosity == 0:
            self.stdout.write(format_catalog(catalog).splitlines()[-1])
        else:
            if verbosity >= 2:
                modules = ", ".join(handler_modules()) or "(none)"
                self.stdout.write(f"Scanned modules: {modules}\n")
            self.stdout.write(format_catalog(catalog))
        problem = missing_handlers_message(catalog)
        if options["strict"] and problem is not None:
            raise CommandError(problem)
