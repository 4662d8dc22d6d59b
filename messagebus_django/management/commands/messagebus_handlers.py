"""``manage.py messagebus_handlers``: the message types and their handlers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

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
        "are flagged NO HANDLER."
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

    def handle(self, *args: Any, **options: Any) -> None:
        catalog = message_catalog()
        if options["json"]:
            self.stdout.write(dumps(catalog_document(catalog)))
        else:
            self.stdout.write(format_catalog(catalog))
        problem = missing_handlers_message(catalog)
        if options["strict"] and problem is not None:
            raise CommandError(problem)
