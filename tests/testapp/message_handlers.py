"""The test app's handlers (``MESSAGEBUS_HANDLER_MODULES`` in tests/settings.py).

Not called ``handlers``: the bus imports an installed app's ``handlers`` module
whatever the settings, and tests/books runs with the bookstore's settings.
"""

from __future__ import annotations

from messagebus_django import Err, Ok, async_listen
from tests.testapp.domain import Document, DocumentActivity
from tests.testapp.messages import (
    DiscontinueDocument,
    DocumentDiscontinued,
    DocumentRegistered,
    RegisterDocument,
)
from tests.testapp.notifications import AbstractNotifier
from tests.testapp.repositories import DocumentRepositoryOperationResult
from tests.testapp.unit_of_work import DocumentsTransaction


@async_listen
async def register_document(
    cmd: RegisterDocument, uow: DocumentsTransaction
) -> DocumentRepositoryOperationResult:
    document = Document(id=cmd.id, code=cmd.code, title=cmd.title, author=cmd.author)
    op: DocumentRepositoryOperationResult = await uow.documents.add(document)
    document.messages.append(
        DocumentRegistered(id=cmd.id, code=cmd.code, title=cmd.title, author=cmd.author)
    )
    return op


@async_listen
async def discontinue_document(
    cmd: DiscontinueDocument, uow: DocumentsTransaction
) -> DocumentRepositoryOperationResult:
    found = await uow.documents.by_id(cmd.id)
    if isinstance(found, Err):
        return found
    document: Document = found.unwrap()
    if document.discontinued:
        return Ok(...)
    document.discontinued = True
    document.messages.append(DocumentDiscontinued(id=document.id, reason=cmd.reason))
    updated: DocumentRepositoryOperationResult = await uow.documents.update(document)
    return updated


@async_listen
async def record_registration(
    event: DocumentRegistered, uow: DocumentsTransaction
) -> None:
    await uow.activities.add(
        DocumentActivity(document_id=event.id, kind="registered", detail=event.title)
    )


@async_listen
async def notify_readers(
    event: DocumentRegistered, uow: DocumentsTransaction, notifier: AbstractNotifier
) -> None:
    notifier.queue(f"New document: {event.title}", f"{event.title} by {event.author}")


@async_listen
async def record_discontinuation(
    event: DocumentDiscontinued, uow: DocumentsTransaction
) -> None:
    await uow.activities.add(
        DocumentActivity(document_id=event.id, kind="discontinued", detail=event.reason)
    )
