"""Sync handlers (plain ``def``), scanned by the tests."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from messagebus_django import (
    AsyncUnitOfWorkTransaction,
    Command,
    Err,
    Event,
    Metadata,
    Ok,
    sync_listen,
)
from tests.django.commands import Batch, Boom, code_for
from tests.testapp.models import Document, DocumentActivity

seen_threads: list[int] = []
saw_a_loop: list[bool] = []


class SyncWrite(Command):
    title: str
    fail: str = ""
    metadata: Metadata = Metadata(name="sync_write", schema_version=1)


class SyncWritten(Event):
    title: str
    fail: str
    metadata: Metadata = Metadata(name="sync_written", schema_version=1)


def _observe() -> None:
    seen_threads.append(threading.get_ident())
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        saw_a_loop.append(False)
    else:  # pragma: no cover - a failure of the no-loop path
        saw_a_loop.append(True)


@sync_listen
def sync_write(cmd: SyncWrite, uow: AsyncUnitOfWorkTransaction[Any]) -> Any:
    _observe()
    Document.objects.create(code=code_for(cmd.title), title=cmd.title, author="Sync")
    if cmd.fail == "command":
        raise Boom("sync command handler failed after writing")
    if cmd.fail == "err":
        return Err("refused")
    batch = Batch(titles=[cmd.title])
    batch.messages.append(SyncWritten(title=cmd.title, fail=cmd.fail))
    uow.batches.seen.append(batch)
    return Ok(cmd.title)


@sync_listen
def sync_record(event: SyncWritten, uow: AsyncUnitOfWorkTransaction[Any]) -> None:
    _observe()
    book = Document.objects.get(title=event.title)
    DocumentActivity.objects.create(document=book, kind="registered", detail="sync")
    if event.fail == "event":
        raise Boom("sync event handler failed")
