"""``manage.py messagebus_schema``: the JSON Schema of every message's payload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messagebus_django.operations.introspection import (
    DuplicateMessageTypeError,
    dumps,
    message_catalog,
    schema_document,
)


class Command(BaseCommand):
    help = (
        'Write {"<name>_v<version>": {"kind", "published", "schema"}} for every '
        "message type the project knows: the JSON Schema of the payload as the "
        "event stream carries it, for the services that consume it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            "-o",
            metavar="FILE",
            default=None,
            help="Write the document to FILE instead of standard output, creating "
            "its directory if needed.",
        )
        parser.add_argument(
            "--indent",
            type=int,
            default=2,
            metavar="N",
            help="Indent the JSON by N spaces (default: 2).",
        )

    def handle(
        self,
        *args: Any,
        output: str | None,
        indent: int,
        verbosity: int = 1,
        **options: Any,
    ) -> None:
        if indent < 0:
            raise CommandError(f"--indent takes 0 or more spaces, got {indent}.")
        try:
            document = schema_document(message_catalog())
        except DuplicateMessageTypeError as exc:
            raise CommandError(str(exc)) from None
        text = dumps(document, indent=indent)
        if output is None:
            self.stdout.write(text)
            return
        path = Path(output)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc}") from None
        if verbosity >= 1:
            self.stdout.write(
                f"Wrote the schemas of {len(document)} message types to {output}."
            )
        if verbosity >= 2:
            for type_name in document:
                self.stdout.write(f"  {type_name}")
