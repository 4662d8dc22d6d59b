"""The handlers of the database scenarios: one command, one ``INSERT``.

The project bus (``MESSAGEBUS_HANDLER_MODULES``) scans this module: it gets
the async handler of :class:`InsertBook`. The sync handler of
:class:`InsertBookSync` is added by the scenarios themselves, to a bus of its
own (all sync: no event loop) or to the project bus (mixed).
"""

from __future__ import annotations

import itertools
from typing import Any

from books.models import Book
from messagebus_django import (
    AsyncUnitOfWorkTransaction,
    Command,
    Metadata,
    async_listen,
    uuid7,
)

_isbns = itertools.count(1)


def next_isbn() -> str:
    """A unique 13-character ISBN (the column is unique; nothing validates it)."""
    return f"{next(_isbns):013d}"


class InsertBook(Command):
    isbn: str
    title: str
    author: str
    metadata: Metadata = Metadata(name="bench_insert_book", schema_version=1)


class InsertBookSync(Command):
    isbn: str
    title: str
    author: str
    metadata: Metadata = Metadata(name="bench_insert_book_sync", schema_version=1)


@async_listen
async def insert_book(cmd: InsertBook, uow: AsyncUnitOfWorkTransaction[Any]) -> None:
    await Book.objects.using(uow.using).acreate(
        isbn=cmd.isbn, title=cmd.title, author=cmd.author
    )


def insert_book_sync(cmd: InsertBookSync, uow: AsyncUnitOfWorkTransaction[Any]) -> None:
    """Decorated with ``@sync_listen`` by :func:`sync_handler` (when it exists)."""
    Book.objects.using(uow.using).create(
        isbn=cmd.isbn, title=cmd.title, author=cmd.author
    )


def sync_handler() -> Any:
    """``insert_book_sync`` marked with ``@sync_listen``; ``None`` without it."""
    import messagebus_django

    sync_listen = getattr(messagebus_django, "sync_listen", None)
    if sync_listen is None:
        return None
    return sync_listen(insert_book_sync)


def raw_insert(alias: str, isbn: str) -> None:
    """The baseline: what the handler does, in an ``atomic`` block of its own."""
    from django.db import transaction

    with transaction.atomic(using=alias):
        Book.objects.using(alias).create(isbn=isbn, title="Bench", author="Bench")


def raw_insert_with_store(alias: str, isbn: str) -> None:
    """The baseline of the message-store rows: the same two rows, by hand."""
    from django.db import transaction
    from django.utils import timezone

    from messagebus_django.models import StoredMessage

    with transaction.atomic(using=alias):
        Book.objects.using(alias).create(isbn=isbn, title="Bench", author="Bench")
        StoredMessage.objects.using(alias).create(
            id=uuid7(),
            type="bench_insert_book_v1",
            name="bench_insert_book",
            schema_version=1,
            kind="command",
            payload={"isbn": isbn, "title": "Bench", "author": "Bench"},
            created_at=timezone.now(),
            published=False,
        )
