"""@sync_listen handlers: plain ``def`` with the sync ORM, alone or beside async ones."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from books.models import Book, BookActivity
from messagebus_django import (
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    Err,
    Ok,
    adispatch,
    dispatch,
)
from tests.django import sync_handlers
from tests.django.commands import Boom, ScratchUnitOfWork, WriteBooks, make_bus
from tests.django.sync_handlers import SyncWrite, SyncWritten

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
    assert Book.objects.get().title == "a"
    assert BookActivity.objects.get().detail == "sync"
    assert sync_handlers.seen_threads == [threading.get_ident()] * 2
    assert sync_handlers.saw_a_loop == [False, False]


@pytest.mark.parametrize("fail", ["command", "event"])
def test_an_all_sync_command_rolls_back_whole(fail: str) -> None:
    with pytest.raises(Boom):
        dispatch(
            SyncWrite(title="a", fail=fail), bus=sync_bus(), uow=ScratchUnitOfWork()
        )
    assert Book.objects.count() == 0
    assert BookActivity.objects.count() == 0


def test_an_all_sync_err_rolls_back() -> None:
    result = dispatch(
        SyncWrite(title="a", fail="err"), bus=sync_bus(), uow=ScratchUnitOfWork()
    )
    assert result == Err("refused")
    assert Book.objects.count() == 0


def test_sync_and_async_handlers_share_one_transaction() -> None:
    bus = sync_bus()
    bus.add_listener(WriteBooks, make_bus().handlers_of(WriteBooks)[0])

    async def also_async(
        event: SyncWritten, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        book = await Book.objects.aget(title=event.title)
        await BookActivity.objects.acreate(book=book, kind="registered", detail="async")

    bus.add_listener(SyncWritten, also_async)
    assert not bus.all_sync
    assert dispatch(SyncWrite(title="mixed"), bus=bus, uow=ScratchUnitOfWork()) == Ok(
        "mixed"
    )
    assert sorted(BookActivity.objects.values_list("detail", flat=True)) == [
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
    assert not Book.objects.filter(title="boom").exists()


def test_adispatch_of_a_sync_bus() -> None:
    from asgiref.sync import async_to_sync

    result = async_to_sync(adispatch)(
        SyncWrite(title="x"), bus=sync_bus(), uow=ScratchUnitOfWork()
    )
    assert result == Ok("x")
    assert Book.objects.filter(title="x").exists()
