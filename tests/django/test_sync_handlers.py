"""@sync_listen handlers: plain ``def`` with the sync ORM, alone or beside async ones."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from messagebus_django import (
    AsyncAbstractEventstreamTransport,
    AsyncEventstreamPublisher,
    AsyncMessageBus,
    AsyncSinkholeMessageStoreRepository,
    AsyncUnitOfWorkTransaction,
    Command,
    Err,
    Event,
    Metadata,
    Ok,
    adispatch,
    dispatch,
)
from tests.django import sync_handlers
from tests.django.commands import (
    Batch,
    Boom,
    ScratchUnitOfWork,
    WriteBooks,
    code_for,
    make_bus,
)
from tests.django.sync_handlers import SyncWrite, SyncWritten
from tests.testapp.models import Document, DocumentActivity

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear() -> None:
    sync_handlers.seen_threads.clear()
    sync_handlers.saw_a_loop.clear()


def sync_bus() -> AsyncMessageBus:
    bus = AsyncMessageBus()
    bus.scan("tests.django.sync_handlers")
    return bus


def test_an_all_sync_bus_runs_on_the_callers_thread_with_no_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from messagebus_django.dispatching import bridge

    def no_bridge(*args: object, **kwargs: object) -> None:
        raise AssertionError("an all-sync bus must not start an event loop")

    monkeypatch.setattr(bridge, "run", no_bridge)
    bus = sync_bus()
    assert bus.all_sync
    assert dispatch(SyncWrite(title="a"), bus=bus, uow=ScratchUnitOfWork()) == Ok("a")
    assert Document.objects.get().title == "a"
    assert DocumentActivity.objects.get().detail == "sync"
    assert sync_handlers.seen_threads == [threading.get_ident()] * 2
    assert sync_handlers.saw_a_loop == [False, False]


@pytest.mark.parametrize("fail", ["command", "event"])
def test_an_all_sync_command_rolls_back_whole(fail: str) -> None:
    with pytest.raises(Boom):
        dispatch(
            SyncWrite(title="a", fail=fail), bus=sync_bus(), uow=ScratchUnitOfWork()
        )
    assert Document.objects.count() == 0
    assert DocumentActivity.objects.count() == 0


def test_an_all_sync_err_rolls_back() -> None:
    result = dispatch(
        SyncWrite(title="a", fail="err"), bus=sync_bus(), uow=ScratchUnitOfWork()
    )
    assert result == Err("refused")
    assert Document.objects.count() == 0


def test_sync_and_async_handlers_share_one_transaction() -> None:
    bus = sync_bus()
    bus.add_listener(WriteBooks, make_bus().handlers_of(WriteBooks)[0])

    async def also_async(
        event: SyncWritten, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        book = await Document.objects.aget(title=event.title)
        await DocumentActivity.objects.acreate(
            document=book, kind="registered", detail="async"
        )

    bus.add_listener(SyncWritten, also_async)
    assert not bus.all_sync
    assert dispatch(SyncWrite(title="mixed"), bus=bus, uow=ScratchUnitOfWork()) == Ok(
        "mixed"
    )
    assert sorted(DocumentActivity.objects.values_list("detail", flat=True)) == [
        "async",
        "sync",
    ]
    # The sync handlers ran on the caller's thread, with no loop visible to them.
    assert sync_handlers.seen_threads == [threading.get_ident()] * 2
    assert sync_handlers.saw_a_loop == [False, False]

    with pytest.raises(Boom):
        dispatch(
            SyncWrite(title="boom", fail="event"), bus=bus, uow=ScratchUnitOfWork()
        )
    assert not Document.objects.filter(title="boom").exists()


def test_beside_async_handlers_a_sync_handler_is_wrapped_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """asgiref's ``sync_to_async`` wrapper of a sync handler is built once,
    not per call (it inspects the function it wraps)."""
    from asgiref.sync import sync_to_async

    from messagebus_django.core import handlers

    wrapped: list[object] = []

    def spy(func: Any, **options: Any) -> Any:
        wrapped.append(func)
        return sync_to_async(func, **options)

    monkeypatch.setattr(handlers, "sync_to_async", spy)
    bus = sync_bus()
    bus.add_listener(WriteBooks, make_bus().handlers_of(WriteBooks)[0])

    async def also_async(
        event: SyncWritten, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        pass

    bus.add_listener(SyncWritten, also_async)
    for title in ("one", "two", "three"):
        dispatch(SyncWrite(title=title), bus=bus, uow=ScratchUnitOfWork())
    assert Document.objects.filter(title__in=["one", "two", "three"]).count() == 3
    # The command's handler and the event's sync handler: once each.
    assert len(wrapped) == 2
    assert len(set(wrapped)) == 2


def test_adispatch_of_a_sync_bus() -> None:
    from asgiref.sync import async_to_sync

    result = async_to_sync(adispatch)(
        SyncWrite(title="x"), bus=sync_bus(), uow=ScratchUnitOfWork()
    )
    assert result == Ok("x")
    assert Document.objects.filter(title="x").exists()


class PublishMe(Command):
    metadata: Metadata = Metadata(name="publish_me", schema_version=1)


class PublishedOne(Event):
    metadata: Metadata = Metadata(
        name="published_one", schema_version=1, published=True
    )


class _Sent(AsyncAbstractEventstreamTransport):
    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send_message_serialized(self, message: Any) -> None:
        self.sent.append(message["type"])


@pytest.mark.parametrize("all_sync", [True, False])
def test_both_paths_publish_the_event_stream(
    all_sync: bool,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The sync path publishes through the unit of work's own store too."""
    settings.MESSAGEBUS_STORE_MESSAGES = False
    transport = _Sent()
    store = AsyncSinkholeMessageStoreRepository(
        publisher=AsyncEventstreamPublisher(transport)
    )

    class PublishingUnitOfWork(ScratchUnitOfWork):
        messagestore = store

    def publish(cmd: PublishMe, uow: AsyncUnitOfWorkTransaction[Any]) -> None:
        batch = Batch(titles=[])
        batch.messages.append(PublishedOne())
        uow.batches.seen.append(batch)

    def on_published(event: PublishedOne, uow: Any) -> None:
        pass

    async def on_published_async(event: PublishedOne, uow: Any) -> None:
        pass

    bus = AsyncMessageBus()
    bus.add_listener(PublishMe, publish)
    bus.add_listener(PublishedOne, on_published if all_sync else on_published_async)
    assert bus.all_sync is all_sync
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(PublishMe(), bus=bus, uow=PublishingUnitOfWork())
    assert transport.sent == ["published_one_v1"]
    assert store.stream_buffer == []


class WriteThenBlock(Command):
    metadata: Metadata = Metadata(name="write_then_block", schema_version=1)


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_all_sync_adispatch_rolls_back() -> None:
    """Sync handlers cannot be interrupted: their work is rolled back after."""
    started = threading.Event()
    release = threading.Event()

    def write_then_block(cmd: WriteThenBlock, uow: Any) -> None:
        Document.objects.create(code=code_for("blocked"), title="blocked", author="a")
        started.set()
        release.wait(30)

    bus = AsyncMessageBus()
    bus.add_listener(WriteThenBlock, write_then_block)
    assert bus.all_sync

    async def cancel_midway() -> bool:
        task = asyncio.ensure_future(
            adispatch(WriteThenBlock(), bus=bus, uow=ScratchUnitOfWork())
        )
        assert await asyncio.to_thread(started.wait, 10)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        finally:
            release.set()
        return False  # pragma: no cover

    assert async_to_sync(cancel_midway)() is True
    assert Document.objects.count() == 0
