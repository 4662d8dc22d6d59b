"""``manage.py register_book``: add a book to the catalogue from the shell."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from books.entrypoints import DUPLICATE_BOOK, InvalidPayload, register_book_command
from books.service.repositories import BookRepositoryOperationResult
from messagebus_django import Err, dispatch


class Command(BaseCommand):
    help = (
        "Register a book through the message bus (the same RegisterBook command "
        "as the site and the API) and print its id."
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
        result: BookRepositoryOperationResult = dispatch(command)
        if isinstance(result, Err):
            raise CommandError(DUPLICATE_BOOK)
        self.stdout.write(str(command.id))
