"""An all-sync bus with a background handler: ``dispatch()`` runs it with no
event loop (the sync view of the bus), and so does the task."""

from __future__ import annotations

from typing import Any

from messagebus_django import Command, Err, Metadata, Ok, sync_listen, uuid7
from tests.testapp import models
from tests.testapp.domain import Document
from tests.testapp.messages import DocumentRegistered


class SyncRegister(Command):
    code: str
    title: str
    metadata: Metadata = Metadata(name="sync_register", schema_version=1)


@sync_listen
def sync_register(cmd: SyncRegister, uow: Any) -> Any:
    document = Document(id=uuid7(), code=cmd.code, title=cmd.title, author="Sync")
    models.Document.objects.create(**models.Document.values_from_domain(document))
    document.messages.append(
        DocumentRegistered(
            id=document.id, code=cmd.code, title=cmd.title, author="Sync"
        )
    )
    uow.documents.seen.append(document)
    return Err("refused") if cmd.title == "Refused" else Ok(None)


@sync_listen(background=True)
def sync_index(event: DocumentRegistered, uow: Any) -> None:
    models.DocumentActivity.objects.create(
        document_id=event.id, kind="indexed", detail=f"sync {event.title}"
    )
