"""@sync_listen and running a bus of sync handlers with no event loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from messagebus_django.core import (
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    ConfigurationError,
    GenericCommand,
    GenericEvent,
    Metadata,
    run_without_loop,
    sync_listen,
)
from tests.core.fakes import FakeUnitOfWork, raise_messages

Transaction = AsyncUnitOfWorkTransaction[Any]


class Start(GenericCommand[Metadata]):
    metadata: Metadata = Metadata(name="sync_start", schema_version=1)


class Done(GenericEvent[Metadata]):
    metadata: Metadata = Metadata(name="sync_done", schema_version=1)


calls: list[str] = []


def start(command: Start, transaction: Transaction, clock: object = None) -> str:
    calls.append(f"start clock={clock is not None}")
    raise_messages(transaction, Done())
    return "started"


def done(event: Done, transaction: Transaction) -> None:
    calls.append("done")


async def done_async(event: Done, transaction: Transaction) -> None:
    calls.append("done async")


@pytest.fixture(autouse=True)
def _clear() -> None:
    calls.clear()


def test_sync_listen_refuses_an_async_function() -> None:
    async def handler(command: Start, transaction: Transaction) -> None:
        pass

    with pytest.raises(ConfigurationError, match="needs a plain 'def'"):
        sync_listen(handler)


def test_sync_listen_returns_the_function() -> None:
    def handler(command: Start, transaction: Transaction) -> None:
        pass

    assert sync_listen(handler) is handler


def test_all_sync_follows_the_registrations() -> None:
    bus = AsyncMessageBus()

    def all_sync() -> bool:  # read afresh each time (no narrowing)
        return bus.all_sync

    assert not all_sync()  # nothing registered
    bus.add_listener(Start, start)
    bus.add_listener(Done, done)
    assert all_sync()
    assert all_sync()  # cached until the registrations change
    bus.add_listener(Done, done_async)
    assert not all_sync()
    bus.remove_listener(Done, done_async)
    assert all_sync()


def handle_once(bus: AsyncMessageBus, **dependencies: Any) -> Any:
    async def go() -> Any:
        uow = FakeUnitOfWork()
        async with uow as transaction:
            result = await bus.handle(Start(), transaction, **dependencies)
            await transaction.commit()
        return result

    return go()


def test_a_sync_bus_runs_without_a_loop() -> None:
    bus = AsyncMessageBus(clock=object)
    bus.add_listener(Start, start)
    bus.add_listener(Done, done)
    assert run_without_loop(handle_once(bus)) == "started"
    assert calls == ["start clock=True", "done"]


def test_sync_handlers_under_a_running_loop_go_through_sync_to_async() -> None:
    bus = AsyncMessageBus()
    bus.add_listener(Start, start)
    bus.add_listener(Done, done)
    bus.add_listener(Done, done_async)
    assert asyncio.run(handle_once(bus)) == "started"
    assert calls == ["start clock=False", "done", "done async"]


def test_run_without_loop_refuses_a_coroutine_that_waits() -> None:
    async def waits() -> None:
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="without an event loop"):
        run_without_loop(waits())
