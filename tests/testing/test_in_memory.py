"""Unit-testing handlers without a database: the in-memory unit of work."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from messagebus_django import (
    AsyncAbstractRepository,
    AsyncEventstreamPublisher,
    AsyncMessageBus,
    Err,
    Ok,
)
from messagebus_django.dispatching.bus import get_bus
from messagebus_django.testing import (
    InMemoryMessageStore,
    InMemoryUnitOfWork,
    RecordingEventstreamTransport,
    assert_messages,
)
from tests.testapp.domain import Document, DocumentActivity
from tests.testapp.messages import (
    DiscontinueDocument,
    DocumentDiscontinued,
    DocumentRegistered,
    RegisterDocument,
)
from tests.testapp.repositories import (
    AbstractDocumentRepository,
    DocumentRepositoryError,
)
from tests.testing.conftest import (
    InMemoryActivityRepository,
    InMemoryDocumentRepository,
)

DOCUMENT_ID = UUID("0190b4f2-8d1e-7c3a-9e7d-3f2a1b0c4d5e")
DDD = RegisterDocument(
    id=DOCUMENT_ID,
    code="0-321-12521-5",
    title="Domain Driven Design",
    author="Eric Evans",
)
REGISTERED = DocumentRegistered(
    id=DOCUMENT_ID, code="0321125215", title="Domain Driven Design", author="Eric Evans"
)


@pytest.fixture
def messagebus_repositories() -> dict[str, AsyncAbstractRepository[Any]]:
    """What a project's conftest.py gives ``messagebus_uow``."""
    return {
        "documents": InMemoryDocumentRepository(),
        "activities": InMemoryActivityRepository(),
    }


async def handle(bus: AsyncMessageBus, uow: InMemoryUnitOfWork, command: Any) -> Any:
    """Handle ``command`` in one transaction; commit unless it returns an Err."""
    async with uow as transaction:
        result = await bus.handle(command, transaction)
        if isinstance(result, Err):
            await transaction.rollback()
        else:
            await transaction.commit()
    return result


async def test_a_handler_runs_against_the_in_memory_repositories(
    messagebus_bus: AsyncMessageBus, messagebus_uow: InMemoryUnitOfWork
) -> None:
    assert await handle(messagebus_bus, messagebus_uow, DDD) == Ok(...)

    assert messagebus_uow.committed == 1
    assert_messages(messagebus_uow.messagestore.messages, [DDD, REGISTERED])
    assert messagebus_uow.messagestore.published == [REGISTERED]
    assert messagebus_uow.documents.documents[DOCUMENT_ID] == Document(
        id=DOCUMENT_ID,
        code="0321125215",
        title="Domain Driven Design",
        author="Eric Evans",
    )
    assert messagebus_uow.activities.activities == [
        DocumentActivity(
            document_id=DOCUMENT_ID, kind="registered", detail="Domain Driven Design"
        )
    ]


async def test_discontinuing_publishes_document_discontinued(
    messagebus_bus: AsyncMessageBus, messagebus_uow: InMemoryUnitOfWork
) -> None:
    await handle(messagebus_bus, messagebus_uow, DDD)
    discontinue = DiscontinueDocument(id=DOCUMENT_ID, reason="out of print")

    assert await handle(messagebus_bus, messagebus_uow, discontinue) == Ok(...)

    assert messagebus_uow.messagestore.published == [
        REGISTERED,
        DocumentDiscontinued(id=DOCUMENT_ID, reason="out of print"),
    ]
    assert messagebus_uow.documents.documents[DOCUMENT_ID].discontinued


async def test_a_rolled_back_command_publishes_nothing_but_is_recorded(
    messagebus_bus: AsyncMessageBus, messagebus_uow: InMemoryUnitOfWork
) -> None:
    await handle(messagebus_bus, messagebus_uow, DDD)
    again = DDD.model_copy(update={"id": UUID(int=1)})

    assert await handle(messagebus_bus, messagebus_uow, again) == Err(
        DocumentRepositoryError.integrity_error
    )

    assert (messagebus_uow.committed, messagebus_uow.rolled_back) == (1, 1)
    # What the handlers did, committed or not: the duplicate raised no event.
    assert_messages(messagebus_uow.messagestore.messages, [DDD, REGISTERED, again])
    assert messagebus_uow.messagestore.published == [REGISTERED]


def test_messagebus_bus_is_the_projects_bus_and_is_rebuilt_after_the_test(
    request: pytest.FixtureRequest,
) -> None:
    # Registered before the fixture is set up, so it runs after its teardown.
    request.addfinalizer(lambda: _assert_rebuilt(seen))
    seen: AsyncMessageBus = request.getfixturevalue("messagebus_bus")

    assert seen is get_bus()
    assert seen.has_handler(RegisterDocument)


def _assert_rebuilt(seen: AsyncMessageBus) -> None:
    assert get_bus() is not seen


# The kit's classes, on their own.


class DocumentsUnitOfWork(InMemoryUnitOfWork):
    documents: InMemoryDocumentRepository
    activities: InMemoryActivityRepository
    notes: str  # not a repository: left alone


class AbstractDocumentsUnitOfWork(InMemoryUnitOfWork):
    documents: AbstractDocumentRepository


def test_annotated_repositories_are_made_for_each_unit_of_work() -> None:
    first, second = DocumentsUnitOfWork(), DocumentsUnitOfWork()

    assert isinstance(first.documents, InMemoryDocumentRepository)
    assert first.documents is not second.documents
    assert list(first.iter_repositories()) == [first.documents, first.activities]
    assert not hasattr(first, "notes")
    assert isinstance(first.messagestore, InMemoryMessageStore)
    assert (first.committed, first.rolled_back) == (0, 0)


def test_repositories_given_by_keyword_win_over_annotations() -> None:
    documents = InMemoryDocumentRepository()

    uow = DocumentsUnitOfWork(documents=documents, extra=InMemoryActivityRepository())

    assert uow.documents is documents
    assert isinstance(uow.extra, InMemoryActivityRepository)


def test_an_abstract_annotation_needs_a_repository_by_keyword() -> None:
    with pytest.raises(TypeError) as raised:
        AbstractDocumentsUnitOfWork()

    assert str(raised.value) == (
        "AbstractDocumentsUnitOfWork.documents is annotated with the abstract "
        "AbstractDocumentRepository: pass documents=... or annotate it with a "
        "concrete repository"
    )
    documents = InMemoryDocumentRepository()
    assert AbstractDocumentsUnitOfWork(documents=documents).documents is documents


def test_only_repositories_are_accepted() -> None:
    with pytest.raises(TypeError, match=r"^documents=\{\} is not a repository"):
        InMemoryUnitOfWork(documents={})  # type: ignore[arg-type]


async def test_the_message_store_publishes_through_a_publisher_after_commit(
    messagebus_bus: AsyncMessageBus,
) -> None:
    transport = RecordingEventstreamTransport()
    uow = DocumentsUnitOfWork(
        messagestore=InMemoryMessageStore(AsyncEventstreamPublisher(transport))
    )
    async with uow as transaction:
        await messagebus_bus.handle(DDD, transaction)
        assert transport.messages == []
        assert uow.messagestore.published == []
        await transaction.commit()

    assert uow.messagestore.published == [REGISTERED]
    [sent] = transport.messages
    assert sent["type"] == "document_registered_v1"
    assert sent["id"] == str(uow.messagestore.messages[1].message_id)
