"""``manage.py register_book``: add a book to the catalogue from the shell."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import InterfaceError, OperationalError

from books.payloads import DUPLICATE_BOOK, InvalidPayload, register_book_command
from books.service.repositories import BookRepositoryOperationResult
from messagebus_django import Err, dispatch


class Command(BaseCommand):
    help = (
        "Register a book through the message bus (the same RegisterBook command "
        "as the site and the API) and print its id, alone, on stdout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--isbn", required=True, help="ISBN-10 or ISBN-13, hyphens allowed."
        )
        parser.add_argument("--title", required=True, help="The book's title.")
        parser.add_argument("--author", required=True, help="The book's author.")
        parser.add_argument(
            "--id",
            default=None,
            metavar="UUID",
            help="The new book's id (default: a new UUIDv7).",
        )

    def handle(
        self,
        *args: Any,
        isbn: str,
        title: str,
        author: str,
        id: str | None,
        **options: Any,
    ) -> None:
        try:
            command = register_book_command(
                {"id": id, "isbn": isbn, "title": title, "author": author}
            )
        except InvalidPayload as invalid:
            raise CommandError(invalid.one_line()) from None
        try:
            result: BookRepositoryOperationResult = dispatch(command)
        except (OperationalError, InterfaceError) as unavailable:
            # Rolled back, so running the command again is safe. The driver's
            # message may span lines (psycopg adds hints): keep the first.
            reason = str(unavailable).strip().splitlines()[0:1] or [
                type(unavailable).__name__
            ]
            raise CommandError(
                f"The database is unavailable, nothing was registered: {reason[0]}"
            ) from None
        if isinstance(result, Err):
            raise CommandError(DUPLICATE_BOOK)
        self.stdout.write(str(command.id))
