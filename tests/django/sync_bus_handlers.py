"""Sync handlers that report what they were given (scanned by test_sync_bus)."""

from __future__ import annotations

from typing import Any

from messagebus_django import (
    Command,
    Metadata,
    SyncUnitOfWorkTransaction,
    sync_listen,
)
from tests.django.commands import code_for
from tests.testapp.models import Document

received: list[SyncUnitOfWorkTransaction[Any]] = []
after_commit: list[str] = []


class SyncShelve(Command):
    title: str
    metadata: Metadata = Metadata(name="sync_shelve", schema_version=1)


@sync_listen
def shelve(
    cmd: SyncShelve,
    transaction: SyncUnitOfWorkTransaction[Any],
    shelf_notifier: Any = None,
) -> str:
    received.append(transaction)
    Document.objects.create(code=code_for(cmd.title), title=cmd.title, author="Sync")
    transaction.on_commit(lambda: after_commit.append(cmd.title))
    if shelf_notifier is not None:
        shelf_notifier.sent.append(cmd.title)
    return cmd.title
