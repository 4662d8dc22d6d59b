"""dispatch() / adispatch(): one command and its events, one transaction."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction

from messagebus_django import (
    AsyncUnitOfWorkTransaction,
    Command,
    Err,
    Metadata,
    MissingHandlerError,
    Ok,
    adispatch,
    async_listen,
    dispatch,
)
from tests.django.commands import Boom, ScratchUnitOfWork, WriteBooks, make_bus
from tests.testapp.messages import RegisterDocument
from tests.testapp.models import Document, DocumentActivity
from tests.testapp.notifications import SENT
from tests.testapp.repositories import DocumentRepositoryError

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent() -> Iterator[list[tuple[str, str]]]:
    """The notes the test app's notifier sent during the test."""
    SENT.clear()
    yield SENT
    SENT.clear()


def run(cmd: WriteBooks) -> Any:
    return dispatch(cmd, bus=make_bus(), uow=ScratchUnitOfWork())


def register(**overrides: str) -> RegisterDocument:
    fields = {
        "code": "0-321-12521-5",
        "title": "Domain Driven Design",
        "author": "Eric Evans",
    }
    fields.update(overrides)
    return RegisterDocument.model_validate(fields)


@pytest.mark.usefixtures("bridge_path")
def test_command_and_events_commit_together() -> None:
    assert run(WriteBooks(titles=["a", "b"])) == Ok(2)
    assert Document.objects.count() == 2
    assert DocumentActivity.objects.count() == 2


def test_command_handler_raises_after_writing_rolls_back() -> None:
    with pytest.raises(Boom):
        run(WriteBooks(titles=["a", "b"], fail="command"))
    assert Document.objects.count() == 0


@pytest.mark.usefixtures("bridge_path")
def test_event_handler_raises_after_command_wrote_rolls_back_all() -> None:
    with pytest.raises(Boom):
        run(WriteBooks(titles=["a", "b"], fail="event"))
    assert Document.objects.count() == 0
    assert DocumentActivity.objects.count() == 0


def test_err_result_rolls_back_and_is_returned() -> None:
    assert run(WriteBooks(titles=["a"], fail="err")) == Err("refused after writing")
    assert Document.objects.count() == 0


def test_project_bus_registers_a_document_with_its_events(
    django_capture_on_commit_callbacks: Callable[..., Any],
    sent: list[tuple[str, str]],
) -> None:
    cmd = register()
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch(cmd) == Ok(...)
    book = Document.objects.get()
    assert (book.id, book.code) == (cmd.id, "0321125215")
    assert list(DocumentActivity.objects.values_list("kind", flat=True)) == [
        "registered"
    ]
    assert [subject for subject, _ in sent] == ["New document: Domain Driven Design"]


def test_duplicate_code_is_an_err_and_sends_nothing(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    dispatch(register())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert dispatch(register(code="0321 12521 5")) == Err(
            DocumentRepositoryError.integrity_error
        )
    assert callbacks == []
    assert Document.objects.count() == 1
    assert DocumentActivity.objects.count() == 1


def test_after_commit_work_waits_for_the_commit(
    django_capture_on_commit_callbacks: Callable[..., Any],
    sent: list[tuple[str, str]],
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        dispatch(register())
    # Inside the test's transaction nothing has committed: no note yet.
    assert sent == []
    # The relay of the published DocumentRegistered, then the notifier's hook.
    assert len(callbacks) == 2
    for callback in callbacks:
        callback()
    assert len(sent) == 1


class Remember(Command):
    value: str
    fail: bool = False
    metadata: Metadata = Metadata(name="remember", schema_version=1)


calls: list[str] = []


def remember_sync() -> None:
    calls.append("sync")


async def remember_async() -> None:
    calls.append("async")


@async_listen
async def remember(cmd: Remember, uow: AsyncUnitOfWorkTransaction[Any]) -> None:
    uow.on_commit(remember_sync)
    uow.on_commit(remember_async)
    if cmd.fail:
        raise Boom("no commit")


def test_uow_on_commit_from_an_async_handler(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    bus = make_bus()
    bus.add_listener(Remember, remember)
    calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(Remember(value="x"), bus=bus, uow=ScratchUnitOfWork())
    assert calls == ["sync", "async"]
    calls.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Boom):
        dispatch(Remember(value="x", fail=True), bus=bus, uow=ScratchUnitOfWork())
    assert calls == []


def test_a_bare_atomic_in_an_async_handler_is_refused_by_django() -> None:
    """Pitfall 1: why uow.on_commit exists."""

    class UseAtomic(Command):
        metadata: Metadata = Metadata(name="use_atomic", schema_version=1)

    async def use_atomic(cmd: UseAtomic, uow: AsyncUnitOfWorkTransaction[Any]) -> None:
        transaction.on_commit(remember_sync)

    bus = make_bus()
    bus.add_listener(UseAtomic, use_atomic)
    from django.core.exceptions import SynchronousOnlyOperation

    with pytest.raises(SynchronousOnlyOperation):
        dispatch(UseAtomic(), bus=bus, uow=ScratchUnitOfWork())


def test_missing_handler_is_raised_to_the_caller() -> None:
    with pytest.raises(MissingHandlerError):
        dispatch(Remember(value="x"), bus=make_bus(), uow=ScratchUnitOfWork())


def test_adispatch_from_async_code() -> None:
    result = async_to_sync(adispatch)(
        WriteBooks(titles=["a"]), bus=make_bus(), uow=ScratchUnitOfWork()
    )
    assert result == Ok(1)
    assert Document.objects.count() == 1


def test_dispatch_uses_the_configured_unit_of_work_and_database() -> None:
    from messagebus_django.dispatching.dispatcher import unit_of_work_class
    from tests.testapp.unit_of_work import DocumentsUnitOfWork

    assert unit_of_work_class() is DocumentsUnitOfWork


@pytest.mark.django_db(transaction=True)
def test_durable_dispatch_refuses_an_outer_atomic() -> None:
    with transaction.atomic(), pytest.raises(RuntimeError, match="durable"):
        run(WriteBooks(titles=["a"]))
    assert Document.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_dispatch_inside_the_users_atomic_hints_at_durable_false() -> None:
    with (
        transaction.atomic(),
        pytest.raises(RuntimeError, match="cannot be nested") as raised,
    ):
        run(WriteBooks(titles=["a"]))
    assert "pass durable=False" in str(raised.value)
    assert "cannot be nested" in str(raised.value.__cause__)
    assert Document.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_non_durable_dispatch_joins_the_outer_atomic() -> None:
    with transaction.atomic():
        dispatch(
            WriteBooks(titles=["a"]),
            durable=False,
            bus=make_bus(),
            uow=ScratchUnitOfWork(),
        )
        assert Document.objects.count() == 1
        transaction.set_rollback(True)
    assert Document.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("bridge_path")
def test_two_commands_at_once_on_one_loop_one_failing() -> None:
    """Pitfall 3: the failing command must not take the other's rows with it."""

    async def both() -> Any:
        return await asyncio.gather(
            adispatch(
                WriteBooks(titles=["ok1", "ok2"]),
                bus=make_bus(),
                uow=ScratchUnitOfWork(),
            ),
            adispatch(
                WriteBooks(titles=["bad1", "bad2"], fail="event"),
                bus=make_bus(),
                uow=ScratchUnitOfWork(),
            ),
            return_exceptions=True,
        )

    ok, failed = async_to_sync(both)()
    assert ok == Ok(2)
    assert isinstance(failed, Boom)
    assert sorted(Document.objects.values_list("title", flat=True)) == ["ok1", "ok2"]
    assert DocumentActivity.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_commit_for_real_then_after_commit_runs() -> None:
    calls.clear()
    bus = make_bus()
    bus.add_listener(Remember, remember)
    dispatch(Remember(value="x"), bus=bus, uow=ScratchUnitOfWork())
    assert calls == ["sync", "async"]


class WriteThenWait(Command):
    metadata: Metadata = Metadata(name="write_then_wait", schema_version=1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("bridge_path")
def test_a_cancelled_adispatch_rolls_back() -> None:
    """Pitfall 5: the client went away while the command was running."""
    started = threading.Event()
    cancelled = threading.Event()

    async def write_then_wait(
        cmd: WriteThenWait, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        await Document.objects.acreate(code="9780321125217", title="t", author="a")
        started.set()
        try:
            await asyncio.Event().wait()  # until cancelled
        except asyncio.CancelledError:
            cancelled.set()
            raise

    bus = make_bus()
    bus.add_listener(WriteThenWait, write_then_wait)

    async def cancel_midway() -> bool:
        task = asyncio.ensure_future(
            adispatch(WriteThenWait(), bus=bus, uow=ScratchUnitOfWork())
        )
        await asyncio.to_thread(started.wait, 10)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False  # pragma: no cover

    assert async_to_sync(cancel_midway)() is True
    assert cancelled.is_set()  # the handler was cancelled, not awaited
    assert Document.objects.count() == 0


def test_a_reused_unit_of_work_starts_each_command_afresh(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    uow = ScratchUnitOfWork()
    with pytest.raises(Boom):
        dispatch(WriteBooks(titles=["bad"], fail="event"), bus=make_bus(), uow=uow)
    calls.clear()
    bus = make_bus()
    bus.add_listener(Remember, remember)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        dispatch(Remember(value="x"), bus=bus, uow=uow)
    # Only this command's two callbacks; nothing of the failed one is stored.
    assert calls == ["sync", "async"]
    assert len(callbacks) == 2
    from messagebus_django.models import StoredMessage

    assert list(StoredMessage.objects.values_list("type", flat=True)) == ["remember_v1"]


class AsyncCallable:
    """An object whose ``__call__`` is ``async def``: awaited after commit too."""

    async def __call__(self) -> None:
        calls.append("async callable")


def test_on_commit_awaits_what_a_callback_returns(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    class Later(Command):
        metadata: Metadata = Metadata(name="later", schema_version=1)

    async def later(cmd: Later, uow: AsyncUnitOfWorkTransaction[Any]) -> None:
        uow.on_commit(AsyncCallable())
        uow.on_commit(lambda: remember_async())

    bus = make_bus()
    bus.add_listener(Later, later)
    calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(Later(), bus=bus, uow=ScratchUnitOfWork())
    assert calls == ["async callable", "async"]
