"""Which messages a dispatch produced.

``MessageRecorder``, ``assert_messages``, and the ``messagebus_recorder`` and
``messagebus_dispatch`` fixtures.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from asgiref.sync import async_to_sync
from django.test import override_settings

from messagebus_django import (
    AsyncAbstractUnitOfWork,
    AsyncMessageBus,
    Err,
    Ok,
    adispatch,
    dispatch,
)
from messagebus_django.testing import (
    Dispatched,
    InMemoryUnitOfWork,
    MessagebusDispatch,
    MessageRecorder,
    assert_messages,
    dispatch_and_record,
    record_messages,
)
from tests.testapp.messages import (
    DiscontinueDocument,
    DocumentDiscontinued,
    DocumentRegistered,
    RegisterDocument,
)
from tests.testapp.models import Document
from tests.testapp.repositories import DocumentRepositoryError
from tests.testapp.unit_of_work import DocumentsUnitOfWork
from tests.testing.conftest import (
    InMemoryActivityRepository,
    InMemoryDocumentRepository,
)

DOCUMENT_ID = UUID("0190b4f2-8d1e-7c3a-9e7d-3f2a1b0c4d5e")
DDD = {"code": "0-321-12521-5", "title": "Domain-Driven Design", "author": "Eric Evans"}
"""Stored (and published) as ``DDD_CODE``."""
DDD_CODE = "0321125215"


def register(**changes: Any) -> RegisterDocument:
    return RegisterDocument(**{**DDD, "id": DOCUMENT_ID, **changes})


def registered(**changes: Any) -> DocumentRegistered:
    return DocumentRegistered(
        **{
            "id": DOCUMENT_ID,
            "code": DDD_CODE,
            "title": DDD["title"],
            "author": DDD["author"],
            **changes,
        }
    )


def documents_uow() -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork(
        documents=InMemoryDocumentRepository(),
        activities=InMemoryActivityRepository(),
    )


async def handle(
    bus: AsyncMessageBus, uow: AsyncAbstractUnitOfWork[Any], cmd: Any
) -> Any:
    async with uow as transaction:
        result = await bus.handle(cmd, transaction)
        await transaction.commit()
    return result


# messagebus_dispatch: result and messages of one dispatch.


@pytest.mark.django_db
def test_dispatch_returns_the_result_and_the_messages_in_order(
    messagebus_dispatch: MessagebusDispatch,
) -> None:
    result, messages = messagebus_dispatch(register())

    assert result == Ok(...)
    assert [type(m) for m in messages] == [RegisterDocument, DocumentRegistered]
    assert_messages(messages, [register(), registered()])
    assert Document.objects.filter(pk=DOCUMENT_ID).exists()


@pytest.mark.django_db
def test_a_refused_command_gives_its_err_and_what_was_handled(
    messagebus_dispatch: MessagebusDispatch,
) -> None:
    messagebus_dispatch(register())

    dispatched = messagebus_dispatch(register(id=UUID(int=1)))

    assert dispatched == Dispatched(
        Err(DocumentRepositoryError.integrity_error), [register(id=UUID(int=1))]
    )
    assert dispatched.result.is_err()
    assert Document.objects.count() == 1


@pytest.mark.django_db
def test_discontinuing_produces_document_discontinued(
    messagebus_dispatch: MessagebusDispatch,
) -> None:
    messagebus_dispatch(register())

    result, messages = messagebus_dispatch(
        DiscontinueDocument(id=DOCUMENT_ID, reason="old")
    )

    assert result == Ok(...)
    assert_messages(
        messages,
        [
            DiscontinueDocument(id=DOCUMENT_ID, reason="old"),
            DocumentDiscontinued(id=DOCUMENT_ID, reason="old"),
        ],
    )


@pytest.mark.django_db
def test_dispatch_takes_dispatchs_options(
    messagebus_dispatch: MessagebusDispatch,
) -> None:
    uow = DocumentsUnitOfWork()
    bus = AsyncMessageBus()
    bus.scan("tests.testapp.message_handlers")
    notes: list[tuple[str, str]] = []

    class Notifier:
        def queue(self, subject: str, body: str) -> None:
            notes.append((subject, body))

    result, messages = messagebus_dispatch(
        register(), durable=False, uow=uow, bus=bus, notifier=Notifier()
    )

    assert result == Ok(...)
    assert [type(m) for m in messages] == [RegisterDocument, DocumentRegistered]
    assert notes[0][0] == "New document: Domain-Driven Design"


@pytest.mark.django_db
@override_settings(MESSAGEBUS_STORE_MESSAGES=False)
def test_messages_are_recorded_without_the_message_store(
    messagebus_dispatch: MessagebusDispatch,
) -> None:
    shared = vars(AsyncAbstractUnitOfWork)["messagestore"]

    _, messages = messagebus_dispatch(register())

    assert [type(m) for m in messages] == [RegisterDocument, DocumentRegistered]
    assert "add" not in vars(shared)  # the store shared by the class is untouched


async def test_dispatch_and_record_refuses_to_run_in_an_event_loop() -> None:
    with pytest.raises(
        RuntimeError, match=r"^dispatch_and_record\(\) calls dispatch\(\)"
    ):
        dispatch_and_record(register())


# messagebus_recorder: everything any bus handles during the test.


@pytest.mark.django_db
def test_the_recorder_sees_every_dispatch_in_order(
    messagebus_recorder: MessageRecorder,
) -> None:
    dispatch(register())
    dispatch(DiscontinueDocument(id=DOCUMENT_ID))

    assert messagebus_recorder.types() == [
        RegisterDocument,
        DocumentRegistered,
        DiscontinueDocument,
        DocumentDiscontinued,
    ]
    assert messagebus_recorder.commands == [
        register(),
        DiscontinueDocument(id=DOCUMENT_ID),
    ]
    assert messagebus_recorder.events == [
        registered(),
        DocumentDiscontinued(id=DOCUMENT_ID, reason=""),
    ]
    messagebus_recorder.clear()
    assert messagebus_recorder.messages == []


async def test_the_recorder_sees_in_memory_units_of_work(
    messagebus_recorder: MessageRecorder, messagebus_bus: AsyncMessageBus
) -> None:
    uow = documents_uow()

    await handle(messagebus_bus, uow, register())

    assert_messages(messagebus_recorder.messages, [RegisterDocument, registered()])
    # Watching does not replace what the store records.
    assert_messages(uow.messagestore.messages, [RegisterDocument, DocumentRegistered])


async def test_recording_ends_with_the_block(messagebus_bus: AsyncMessageBus) -> None:
    from messagebus_django.signals import message_handled

    handle_before = AsyncMessageBus.handle
    receivers_before = len(message_handled.receivers)
    with record_messages() as recorder:
        # A receiver of the signal, not a patched class.
        assert len(message_handled.receivers) == receivers_before + 1
        await handle(messagebus_bus, documents_uow(), register())
    await handle(messagebus_bus, documents_uow(), register())

    assert AsyncMessageBus.handle is handle_before
    assert len(message_handled.receivers) == receivers_before
    assert recorder.types() == [RegisterDocument, DocumentRegistered]


async def test_handle_still_refuses_a_unit_of_work_while_recording(
    messagebus_bus: AsyncMessageBus,
) -> None:
    with record_messages() as recorder, pytest.raises(TypeError, match="transaction"):
        await messagebus_bus.handle(register(), documents_uow())  # type: ignore[arg-type]
    assert recorder.messages == []


async def test_a_store_is_watched_once(messagebus_bus: AsyncMessageBus) -> None:
    recorder = MessageRecorder()
    uow = documents_uow()

    assert recorder.watch(uow) is uow
    recorder.watch(uow)
    await handle(messagebus_bus, uow, register())

    assert recorder.types() == [RegisterDocument, DocumentRegistered]


async def test_a_unit_of_work_of_its_own_is_watched_through_its_metrics_store(
    messagebus_bus: AsyncMessageBus,
) -> None:
    class SharedStoreUnitOfWork(AsyncAbstractUnitOfWork[Any]):
        def __init__(self) -> None:
            self.documents = InMemoryDocumentRepository()
            self.activities = InMemoryActivityRepository()

        async def commit(self) -> None: ...

        async def rollback(self) -> None: ...

    recorder = MessageRecorder()
    uow = recorder.watch(SharedStoreUnitOfWork())

    await handle(messagebus_bus, uow, register())

    assert recorder.types() == [RegisterDocument, DocumentRegistered]
    # Nothing of the class is touched: the instance's metrics store is wrapped.
    shared = vars(AsyncAbstractUnitOfWork)["metrics_store"]
    assert uow.metrics_store is not shared
    assert vars(AsyncAbstractUnitOfWork)["metrics_store"] is shared


# assert_messages


def test_assert_messages_compares_content_in_order() -> None:
    assert_messages([register(), registered()], [register(), registered()])
    assert_messages([register(), registered()], [RegisterDocument, registered()])
    assert_messages((), [])


def test_a_different_field_is_named() -> None:
    with pytest.raises(AssertionError) as raised:
        assert_messages(
            [register(), registered()], [RegisterDocument, registered(title="DDD")]
        )

    assert str(raised.value) == "\n".join(
        [
            "messages differ at position 1:",
            f"  expected {registered(title='DDD')!r}",
            f"  got      {registered()!r}",
            "  title: expected 'DDD', got 'Domain-Driven Design'",
            "recorded (2):",
            f"  0  {register()!r}",
            f"  1  {registered()!r}",
            "expected (2):",
            "  0  RegisterDocument (any)",
            f"  1  {registered(title='DDD')!r}",
        ]
    )


def test_a_different_type_is_shown() -> None:
    with pytest.raises(AssertionError) as raised:
        assert_messages([register()], [registered()])
    assert str(raised.value).splitlines()[:3] == [
        "messages differ at position 0:",
        f"  expected {registered()!r}",
        f"  got      {register()!r}",
    ]

    with pytest.raises(AssertionError) as raised:
        assert_messages([register()], [DocumentRegistered])
    assert str(raised.value).splitlines()[1] == "  expected DocumentRegistered (any)"


@pytest.mark.parametrize(
    ("recorded", "expected", "first_line"),
    [
        (
            [register()],
            [RegisterDocument, DocumentRegistered],
            "expected 2 messages, got 1",
        ),
        ([register(), registered()], [RegisterDocument], "expected 1 messages, got 2"),
    ],
)
def test_a_missing_or_extra_message_is_reported(
    recorded: list[Any], expected: list[Any], first_line: str
) -> None:
    with pytest.raises(AssertionError) as raised:
        assert_messages(recorded, expected)
    assert str(raised.value).splitlines()[0] == first_line


@pytest.mark.django_db
def test_async_code_runs_in_the_tests_transaction_through_async_to_sync(
    messagebus_recorder: MessageRecorder,
) -> None:
    result = async_to_sync(adispatch)(register())

    assert result == Ok(...)
    assert messagebus_recorder.types() == [RegisterDocument, DocumentRegistered]
    assert Document.objects.filter(
        pk=DOCUMENT_ID
    ).exists()  # seen by the test's connection
