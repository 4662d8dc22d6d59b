"""Test-only commands and handlers, registered on a bus of the tests' own.

They write real ``testapp`` documents with the async ORM, so what a rollback leaves
can be counted in the database.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

from messagebus_django import (
    AsyncAbstractRepository,
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    Command,
    DjangoUnitOfWork,
    Err,
    Event,
    Metadata,
    Model,
    Ok,
    async_listen,
)
from tests.testapp.models import Document, DocumentActivity


class WriteBooks(Command):
    titles: list[str]
    fail: str = ""
    """"command": raise in the command handler after writing; "event": raise in
    an event handler after it wrote too; "err": return an Err after writing."""
    metadata: Metadata = Metadata(name="write_books", schema_version=1)


class BooksWritten(Event):
    titles: list[str]
    fail: str
    metadata: Metadata = Metadata(name="books_written", schema_version=1)


class Boom(Exception):
    pass


class Batch(Model):
    """A domain stand-in that carries the event the command raises."""

    titles: list[str]


class BatchRepository(AsyncAbstractRepository[Batch]):
    async def add(self, batch: Batch) -> None:
        self.seen.append(batch)


class ScratchUnitOfWork(DjangoUnitOfWork):
    batches: BatchRepository


def code_for(title: str) -> str:
    """A document code derived from ``title``: one title, one code."""
    return f"T{zlib.crc32(title.encode()):010d}"


@async_listen
async def write_books(cmd: WriteBooks, uow: AsyncUnitOfWorkTransaction[Any]) -> Any:
    for title in cmd.titles:
        await Document.objects.acreate(code=code_for(title), title=title, author="Test")
        await asyncio.sleep(0)  # let other commands on the loop interleave
    if cmd.fail == "command":
        raise Boom("command handler failed after writing")
    if cmd.fail == "err":
        return Err("refused after writing")
    batch = Batch(titles=cmd.titles)
    batch.messages.append(BooksWritten(titles=cmd.titles, fail=cmd.fail))
    await uow.batches.add(batch)
    return Ok(len(cmd.titles))


@async_listen
async def record_books(
    event: BooksWritten, uow: AsyncUnitOfWorkTransaction[Any]
) -> None:
    async for book in Document.objects.filter(title__in=event.titles):
        await DocumentActivity.objects.acreate(
            document=book, kind="registered", detail="ev"
        )
    if event.fail == "event":
        raise Boom("event handler failed after the command wrote")


def make_bus() -> AsyncMessageBus:
    bus = AsyncMessageBus()
    bus.add_listener(WriteBooks, write_books)
    bus.add_listener(BooksWritten, record_books)
    return bus
