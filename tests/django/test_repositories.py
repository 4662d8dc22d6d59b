"""DjangoRepository: rows to domain models and back, inside the command's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from asgiref.sync import async_to_sync
from django.db import IntegrityError
from django.db.models.signals import post_save, pre_save

from messagebus_django import (
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    Command,
    DjangoUnitOfWork,
    Err,
    Metadata,
    Ok,
    dispatch,
)
from tests.testapp.domain import Document
from tests.testapp.messages import DiscontinueDocument, RegisterDocument
from tests.testapp.models import Document as BookRow
from tests.testapp.models import DocumentActivity
from tests.testapp.repositories import (
    AbstractDocumentRepository,
    DjangoDocumentRepository,
    DocumentRepositoryError,
)
from tests.testapp.unit_of_work import DocumentsUnitOfWork

pytestmark = pytest.mark.django_db

DDD = "9780321125217"
REFACTORING = "9780134757599"


class RegisterTwice(Command):
    """Insert a duplicate, then carry on writing in the same transaction."""

    first: UUID
    second: UUID
    metadata: Metadata = Metadata(name="register_twice", schema_version=1)


async def register_twice(
    cmd: RegisterTwice, uow: AsyncUnitOfWorkTransaction[Any]
) -> Any:
    duplicate = await uow.documents.add(
        Document(id=cmd.first, code=DDD, title="Again", author="X")
    )
    assert duplicate == Err(DocumentRepositoryError.integrity_error)
    return await uow.documents.add(
        Document(id=cmd.second, code=REFACTORING, title="Refactoring", author="Fowler")
    )


@pytest.fixture(params=["one statement", "pre_save", "post_save"])
def insert_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each way an insert may fail cleanly: on SQLite a lone ``INSERT`` runs
    without a savepoint (SQLite backs out the failed statement alone); a
    ``pre_save`` or ``post_save`` receiver, which may write too, puts it back
    in one."""
    if request.param == "one statement":
        yield request.param
        return
    signal = pre_save if request.param == "pre_save" else post_save

    def receiver(**kwargs: Any) -> None:
        pass

    signal.connect(receiver, sender=BookRow)
    try:
        yield request.param
    finally:
        signal.disconnect(receiver, sender=BookRow)


def test_unique_violation_is_an_err_and_the_transaction_goes_on(
    insert_path: str,
) -> None:
    first = RegisterDocument(code=DDD, title="DDD", author="Evans")
    dispatch(first)
    bus = AsyncMessageBus()
    bus.add_listener(RegisterTwice, register_twice)
    second = RegisterDocument(code=REFACTORING, title="-", author="-").id
    assert dispatch(RegisterTwice(first=first.id, second=second), bus=bus) == Ok(...)
    assert sorted(BookRow.objects.values_list("code", flat=True)) == sorted(
        [DDD, REFACTORING]
    )


def test_insert_reports_the_integrity_error(insert_path: str) -> None:
    BookRow.objects.create(code=DDD, title="DDD", author="Evans")
    repository = DjangoDocumentRepository()
    book = Document(
        id=RegisterDocument(code=DDD, title="t", author="a").id,
        code=DDD,
        title="t",
        author="a",
    )
    result = async_to_sync(repository.insert)(book)
    assert isinstance(result.unwrap_err(), IntegrityError)
    assert list(repository.seen) == []


def test_by_id_maps_rows_to_domain_models() -> None:
    row = BookRow.objects.create(code=DDD, title="DDD", author="Evans")
    repository = DjangoDocumentRepository()
    assert async_to_sync(repository.by_id)(row.id) == Ok(
        Document(id=row.id, code=DDD, title="DDD", author="Evans")
    )
    missing = RegisterDocument(code=DDD, title="t", author="a").id
    assert async_to_sync(repository.by_id)(missing) == Err(
        DocumentRepositoryError.not_found
    )


def test_update_writes_changes_and_auto_now_fields() -> None:
    row = BookRow.objects.create(code=DDD, title="DDD", author="Evans")
    before = row.updated_at
    assert dispatch(DiscontinueDocument(id=row.id, reason="out of print")) == Ok(...)
    row.refresh_from_db()
    assert row.discontinued
    assert row.updated_at > before
    assert list(DocumentActivity.objects.values_list("kind", "detail")) == [
        ("discontinued", "out of print")
    ]


def test_update_of_a_missing_row_is_not_found() -> None:
    repository = DjangoDocumentRepository()
    book = Document(
        id=RegisterDocument(code=DDD, title="t", author="a").id,
        code=DDD,
        title="t",
        author="a",
    )
    assert async_to_sync(repository.update)(book) == Err(
        DocumentRepositoryError.not_found
    )
    assert list(repository.seen) == []


def test_discontinue_unknown_book_is_not_found() -> None:
    unknown = RegisterDocument(code=DDD, title="t", author="a").id
    assert dispatch(DiscontinueDocument(id=unknown)) == Err(
        DocumentRepositoryError.not_found
    )


def test_unit_of_work_gives_each_instance_its_own_repositories() -> None:
    one, two = (
        DocumentsUnitOfWork(using="default"),
        DocumentsUnitOfWork(using="default"),
    )
    assert isinstance(one.documents, DjangoDocumentRepository)
    assert one.documents is not two.documents
    assert one.documents.using == "default"
    assert set(DocumentsUnitOfWork.repository_classes()) == {"documents", "activities"}


def test_an_abstract_repository_annotation_is_a_clear_error() -> None:
    class Incomplete(DjangoUnitOfWork):
        documents: AbstractDocumentRepository

    with pytest.raises(
        TypeError, match=r"Incomplete\.documents is annotated with the abstract"
    ):
        Incomplete()


def test_inside_dispatch_the_orm_calls_run_inline_and_elsewhere_through_asgiref(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Inside dispatch() a repository's ORM call is run where asgiref would
    send it (the caller's thread, in its atomic block), without building a
    ``sync_to_async`` per call; outside, it is asgiref's ``sync_to_async``."""
    from messagebus_django.dispatching import bridge

    built: list[object] = []
    from asgiref.sync import sync_to_async as real

    def spy(func: Any) -> Any:
        built.append(func)
        return real(func)

    monkeypatch.setattr(bridge, "sync_to_async", spy)
    first = RegisterDocument(code=DDD, title="DDD", author="Evans")
    assert dispatch(first) == Ok(...)  # insert (twice: the activity too)
    assert dispatch(DiscontinueDocument(id=first.id)) == Ok(...)  # get, update
    assert dispatch(
        DiscontinueDocument(id=RegisterDocument(code=DDD, title="t", author="a").id)
    ) == Err(DocumentRepositoryError.not_found)
    bus = AsyncMessageBus()
    bus.add_listener(RegisterTwice, register_twice)
    second = RegisterDocument(code=REFACTORING, title="-", author="-").id
    # The IntegrityError raised inline comes back as the insert's Err.
    assert dispatch(RegisterTwice(first=first.id, second=second), bus=bus) == Ok(...)
    assert built == []
    assert BookRow.objects.get(id=first.id).discontinued
    repository = DjangoDocumentRepository()
    assert async_to_sync(repository.by_id)(first.id).is_ok()
    assert len(built) == 1
