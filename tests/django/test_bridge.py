"""The bridge's own edge cases: exceptions, cancellation, nesting, threads, fork.

The tests that take ``bridge_path`` (tests/django/conftest.py) run on both of
its paths, asgiref's internals and the ``async_to_sync`` fallback; the others
are about the fast path's own loop. test_bridge_fallback.py has the
fallback's detection and warning.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import os
import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from messagebus_django import (
    AsyncUnitOfWorkTransaction,
    Command,
    Metadata,
    Ok,
    dispatch,
)
from messagebus_django.dispatching import bridge
from tests.django.commands import (
    Boom,
    ScratchUnitOfWork,
    WriteBooks,
    code_for,
    make_bus,
)
from tests.testapp.models import Document

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="caller")


async def add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@pytest.mark.usefixtures("bridge_path")
def test_run_returns_the_result() -> None:
    assert bridge.run(add, 2, 3) == 5


@pytest.mark.usefixtures("bridge_path")
def test_run_propagates_exceptions_and_keeps_working() -> None:
    async def fail() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        bridge.run(fail)
    assert bridge.run(add, 1, 1) == 2


def test_run_reuses_the_thread_loop() -> None:
    async def current() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert bridge.run(current) is bridge.run(current)


def test_leftover_tasks_are_cancelled() -> None:
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    leftovers: list[asyncio.Future[None]] = []

    async def leave_a_task() -> None:
        leftovers.append(asyncio.ensure_future(forever()))
        await asyncio.sleep(0)

    bridge.run(leave_a_task)
    assert cancelled.is_set()


def test_leftover_tasks_of_a_handler_that_never_suspends_are_cancelled() -> None:
    # Such a handler is done after its task's first step, run at once: what it
    # left still gets the loop pass that followed the task's end, then cancelled.
    started = threading.Event()
    cancelled = threading.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def leave_a_task() -> None:
        asyncio.get_running_loop().create_task(forever())

    bridge.run(leave_a_task)
    assert started.is_set()
    assert cancelled.is_set()


def test_callbacks_of_a_handler_that_never_suspends_run() -> None:
    called = threading.Event()

    async def schedule() -> None:
        asyncio.get_running_loop().call_soon(called.set)

    bridge.run(schedule)
    assert called.is_set()


@pytest.mark.usefixtures("bridge_path")
def test_a_handler_that_never_suspends_runs_in_a_task_of_a_running_loop() -> None:
    async def inside() -> tuple[bool, bool, int]:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(60):  # needs a current task
            ident = await sync_to_async(threading.get_ident)()
        return asyncio.current_task() is not None, loop.is_running(), ident

    assert bridge.run(inside) == (True, True, threading.get_ident())


def test_a_handlers_own_executor_calls_still_go_to_their_executor() -> None:
    async def handler() -> int:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, threading.get_ident)

    assert bridge.run(handler) != threading.get_ident()


def test_handlers_cancelled_before_they_start_do_not_run() -> None:
    ran: list[bool] = []

    async def handler() -> None:
        ran.append(True)

    cancel = bridge.Cancellation()
    cancel.cancel()
    token = bridge.cancellation.set(cancel)
    try:
        with pytest.raises(asyncio.CancelledError):
            bridge.run(handler)
    finally:
        bridge.cancellation.reset(token)
    assert ran == []


@pytest.mark.usefixtures("bridge_path")
def test_contextvar_changes_do_not_flow_back() -> None:
    async def change() -> str:
        marker.set("handler")
        return marker.get()

    assert bridge.run(change) == "handler"
    assert marker.get() == "caller"


@pytest.mark.usefixtures("bridge_path")
def test_thread_sensitive_calls_run_on_the_callers_thread() -> None:
    async def handler() -> int:
        return await sync_to_async(threading.get_ident)()

    assert bridge.run(handler) == threading.get_ident()


@pytest.mark.usefixtures("bridge_path")
def test_calling_from_async_code_is_an_error() -> None:
    async def inside() -> None:
        bridge.run(add, 1, 2)

    with pytest.raises(RuntimeError, match="await adispatch"):
        asyncio.run(inside())


@pytest.mark.usefixtures("bridge_path")
def test_a_sync_async_to_sync_inside_a_handlers_sync_call_works() -> None:
    def sync_part() -> int:
        # asgiref's own bridge, nested inside ours: must not deadlock.
        return async_to_sync(add)(20, 22)

    async def handler() -> int:
        return await sync_to_async(sync_part)()

    assert bridge.run(handler) == 42


@pytest.mark.django_db
@pytest.mark.usefixtures("bridge_path")
def test_nested_dispatch_from_a_handlers_sync_call() -> None:
    class Outer(Command):
        metadata: Metadata = Metadata(name="outer", schema_version=1)

    def dispatch_inner() -> Any:
        return dispatch(
            WriteBooks(titles=["inner"]),
            durable=False,
            bus=make_bus(),
            uow=ScratchUnitOfWork(),
        )

    async def outer(cmd: Outer, uow: AsyncUnitOfWorkTransaction[Any]) -> Any:
        await Document.objects.acreate(
            code=code_for("outer"), title="outer", author="a"
        )
        return await sync_to_async(dispatch_inner)()

    bus = make_bus()
    bus.add_listener(Outer, outer)
    assert dispatch(Outer(), bus=bus, uow=ScratchUnitOfWork()) == Ok(1)
    assert sorted(Document.objects.values_list("title", flat=True)) == [
        "inner",
        "outer",
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("bridge_path")
def test_several_threads_at_once_each_in_its_own_transaction() -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(number: int) -> None:
        from django.db import connection

        try:
            barrier.wait()
            for round_ in range(3):
                command = WriteBooks(
                    titles=[f"t{number}-{round_}"],
                    fail="command" if number == 0 else "",
                )
                try:
                    dispatch(command, bus=make_bus(), uow=ScratchUnitOfWork())
                except Boom:
                    if not command.fail:
                        raise
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    titles = sorted(Document.objects.values_list("title", flat=True))
    assert titles == sorted(f"t{n}-{r}" for n in range(1, 4) for r in range(3))


def test_a_threads_loop_is_closed_when_the_thread_ends() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def current() -> None:
        loops.append(asyncio.get_running_loop())

    thread = threading.Thread(target=bridge.run, args=(current,))
    thread.start()
    thread.join()
    del thread
    gc.collect()
    assert loops[0].is_closed()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_a_forked_child_gets_a_loop_of_its_own() -> None:
    async def current() -> int:
        return id(asyncio.get_running_loop())

    parent_loop = bridge.run(current)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            child_loop = bridge.run(current)
            os.write(write, b"new" if child_loop != parent_loop else b"same")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 10)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"new"
