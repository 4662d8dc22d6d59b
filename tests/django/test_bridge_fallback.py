"""The bridge's fallback: asgiref's public ``async_to_sync``, when its internals change.

``fallback`` forces it the way an asgiref without the internals would; the
import-time detection and its one warning are tested in a subprocess, with
the internals taken away before ``messagebus_django.dispatching.bridge`` is imported.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync, async_to_sync, sync_to_async

from messagebus_django import (
    AsyncUnitOfWorkTransaction,
    Command,
    Metadata,
    Ok,
    adispatch,
    dispatch,
)
from messagebus_django.dispatching import bridge
from tests.django.commands import Boom, ScratchUnitOfWork, WriteBooks, make_bus
from tests.testapp.models import Document, DocumentActivity

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="caller")


@pytest.fixture
def fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge, "INTERNALS_FOUND", False)


def test_the_installed_asgiref_has_the_internals() -> None:
    assert bridge.asgiref_internals_found() is True
    assert bridge.INTERNALS_FOUND is True


class NoExecutors:
    pass


class SyncToAsyncWithoutRouting:
    threadlocal = threading.local()

    def __call__(self) -> None:
        pass


@pytest.mark.parametrize(
    ("async_to_sync_class", "sync_to_async_class"),
    [
        (NoExecutors, SyncToAsync),
        (AsyncToSync, NoExecutors),
        (AsyncToSync, SyncToAsyncWithoutRouting),
    ],
)
def test_changed_internals_are_detected(
    async_to_sync_class: type, sync_to_async_class: type
) -> None:
    assert not bridge.asgiref_internals_found(async_to_sync_class, sync_to_async_class)


def test_import_without_the_internals_warns_once_and_dispatch_works() -> None:
    script = textwrap.dedent(
        """
        import asyncio, threading, warnings
        import asgiref.sync

        # What a new asgiref might do: route the calls some other way.
        routed = asgiref.sync.SyncToAsync.__call__

        async def rerouted(self, *args, **kwargs):
            return await routed(self, *args, **kwargs)

        asgiref.sync.SyncToAsync.__call__ = rerouted
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from messagebus_django.dispatching import bridge

            async def handler():
                return await asgiref.sync.sync_to_async(threading.get_ident)()

            ran_on = [bridge.run(handler) for _ in range(3)]
        assert bridge.INTERNALS_FOUND is False
        assert ran_on == [threading.get_ident()] * 3, ran_on
        messages = [str(w.message) for w in caught]
        assert len(messages) == 1, messages
        assert caught[0].category is RuntimeWarning
        print(messages[0])
        """
    )
    env = {**os.environ, "PYTHONWARNINGS": ""}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "uses asgiref's async_to_sync instead" in done.stdout


async def add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


@pytest.mark.usefixtures("fallback")
def test_fallback_returns_and_raises() -> None:
    async def fail() -> None:
        raise KeyError("boom")

    assert bridge.run(add, 2, 3) == 5
    with pytest.raises(KeyError, match="boom"):
        bridge.run(fail)


@pytest.mark.usefixtures("fallback")
def test_fallback_runs_thread_sensitive_calls_on_the_caller_thread() -> None:
    async def handler() -> int:
        return await sync_to_async(threading.get_ident)()

    assert bridge.run(handler) == threading.get_ident()


@pytest.mark.usefixtures("fallback")
def test_fallback_contextvar_changes_do_not_flow_back() -> None:
    async def change() -> str:
        marker.set("handler")
        return marker.get()

    assert bridge.run(change) == "handler"
    assert marker.get() == "caller"


@pytest.mark.usefixtures("fallback")
def test_fallback_is_refused_from_async_code() -> None:
    async def inside() -> None:
        bridge.run(add, 1, 2)

    with pytest.raises(RuntimeError, match="await adispatch"):
        asyncio.run(inside())


@pytest.mark.usefixtures("fallback")
@pytest.mark.django_db
def test_fallback_commits_and_rolls_back_like_the_fast_path() -> None:
    run = dispatch  # one command, one transaction, on either path
    assert run(
        WriteBooks(titles=["a", "b"]), bus=make_bus(), uow=ScratchUnitOfWork()
    ) == Ok(2)
    with pytest.raises(Boom):
        run(
            WriteBooks(titles=["c"], fail="event"),
            bus=make_bus(),
            uow=ScratchUnitOfWork(),
        )
    assert sorted(Document.objects.values_list("title", flat=True)) == ["a", "b"]
    assert DocumentActivity.objects.count() == 2


@pytest.mark.usefixtures("fallback")
@pytest.mark.django_db
def test_fallback_nested_dispatch_from_a_handlers_sync_call() -> None:
    class Outer(Command):
        metadata: Metadata = Metadata(name="outer_fallback", schema_version=1)

    def dispatch_inner() -> Any:
        return dispatch(
            WriteBooks(titles=["inner"]),
            durable=False,
            bus=make_bus(),
            uow=ScratchUnitOfWork(),
        )

    async def outer(cmd: Outer, uow: AsyncUnitOfWorkTransaction[Any]) -> Any:
        await Document.objects.acreate(code="9780321125217", title="outer", author="a")
        return await sync_to_async(dispatch_inner)()

    bus = make_bus()
    bus.add_listener(Outer, outer)
    assert dispatch(Outer(), bus=bus, uow=ScratchUnitOfWork()) == Ok(1)
    assert sorted(Document.objects.values_list("title", flat=True)) == [
        "inner",
        "outer",
    ]


class WaitForever(Command):
    metadata: Metadata = Metadata(name="wait_forever_fallback", schema_version=1)


@pytest.mark.usefixtures("fallback")
@pytest.mark.django_db(transaction=True)
def test_fallback_adispatch_in_parallel_and_cancelled() -> None:
    started = threading.Event()
    cancelled = threading.Event()

    async def write_then_wait(
        cmd: WaitForever, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        await Document.objects.acreate(code="9780321125217", title="t", author="a")
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    bus = make_bus()
    bus.add_listener(WaitForever, write_then_wait)

    async def scenario() -> tuple[Any, bool]:
        ok = await adispatch(
            WriteBooks(titles=["ok"]), bus=make_bus(), uow=ScratchUnitOfWork()
        )
        task = asyncio.ensure_future(
            adispatch(WaitForever(), bus=bus, uow=ScratchUnitOfWork())
        )
        await asyncio.to_thread(started.wait, 10)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return ok, True
        return ok, False  # pragma: no cover

    assert async_to_sync(scenario)() == (Ok(1), True)
    assert cancelled.is_set()  # the handler was cancelled, not awaited
    assert list(Document.objects.values_list("title", flat=True)) == ["ok"]


def test_the_fallback_warning_names_asgiref_and_the_cost() -> None:
    with pytest.warns(RuntimeWarning, match=r"asgiref \(\d+\.\d+.*slower"):
        bridge.warn_about_fallback()
