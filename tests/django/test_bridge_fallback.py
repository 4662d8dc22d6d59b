"""The bridge's fallback: asgiref's public ``async_to_sync``, when its internals change.

The import-time detection and its one warning are tested in a subprocess,
with the internals taken away before ``messagebus_django.dispatching.bridge``
is imported. What the fallback must do as the fast path does runs on both
paths (the ``bridge_path`` fixture, tests/django/conftest.py): the bridge's
cases in test_bridge.py, dispatch's transactions and cancellation in
test_dispatch.py.
"""

from __future__ import annotations

import contextvars
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync

from messagebus_django.dispatching import bridge

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="caller")


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


def test_the_fallback_warning_names_asgiref_and_the_cost() -> None:
    with pytest.warns(RuntimeWarning, match=r"asgiref \(\d+\.\d+.*slower"):
        bridge.warn_about_fallback()
