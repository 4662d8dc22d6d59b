"""The sync-to-async bridge of :func:`~messagebus_django.dispatch`.

``async_to_sync`` called from a thread without an event loop starts a new
thread and a new loop on every call (about 0.46 ms), and every async ORM call
of the handlers then hops back to the calling thread. Here, instead, each
calling thread keeps one event loop of its own and runs the handlers on it,
and the handlers' thread-sensitive ``sync_to_async`` calls (the async ORM)
run at once, on that same thread, inside the caller's ``atomic`` block: with
the running-loop marker cleared for the call, Django sees a plain sync thread
and uses the caller's connection. See docs/design.md, "Making dispatch() cheap".

It relies on asgiref's routing of thread-sensitive calls: ``SyncToAsync``
hands them to ``AsyncToSync.executors.current``, through
``loop.run_in_executor``. That routing is the same from asgiref 3.8 to 3.13,
and the tests exercise it. asgiref is not capped for it: at import, this
module checks that those internals are there (:data:`INTERNALS_FOUND`); where
they are not, :func:`run` takes asgiref's public ``async_to_sync`` instead
(the same transaction, just slower), and one ``RuntimeWarning`` says so.

Obligations kept: leftover tasks are cancelled after each call (as
``asyncio.run`` does); a thread's loop is closed when the thread ends, and a
forked child makes a new one; nested use (a sync function called from a
handler that itself dispatches, or calls ``async_to_sync``) falls back to
asgiref's own machinery; contextvar changes made by handlers do not flow back
to the caller; a cancelled ``adispatch`` cancels the handlers.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import warnings
from asyncio import events
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar, cast

import asgiref
from asgiref.sync import AsyncToSync, SyncToAsync, async_to_sync

__all__ = ["INTERNALS_FOUND", "Cancellation", "cancellation", "run"]

P = ParamSpec("P")
R = TypeVar("R")

FALLBACK_WARNING = (
    "messagebus_django: this asgiref ({version}) does not route thread-sensitive "
    "calls the way the fast dispatch bridge was tested with; dispatch() uses "
    "asgiref's async_to_sync instead: correct, but slower. Please report it "
    "with your asgiref version."
)


def asgiref_internals_found(
    async_to_sync_class: type = AsyncToSync, sync_to_async_class: type = SyncToAsync
) -> bool:
    """Whether asgiref has the internals the fast bridge relies on.

    ``AsyncToSync.executors`` (whose ``current`` it sets), the thread-local
    state of ``SyncToAsync`` (which it saves and restores), and a
    ``SyncToAsync.__call__`` that gives thread-sensitive calls to
    ``executors.current`` through ``loop.run_in_executor``.
    """
    call = getattr(vars(sync_to_async_class).get("__call__"), "__code__", None)
    return (
        hasattr(async_to_sync_class, "executors")
        and isinstance(
            getattr(sync_to_async_class, "threadlocal", None), threading.local
        )
        and call is not None
        and {"AsyncToSync", "executors", "run_in_executor"} <= set(call.co_names)
        and "current" in call.co_consts
    )


INTERNALS_FOUND = asgiref_internals_found()
"""Whether :func:`run` takes the fast path (else asgiref's ``async_to_sync``)."""


def warn_about_fallback() -> None:
    """Say once (at import) that :func:`run` takes asgiref's slower path."""
    warnings.warn(
        FALLBACK_WARNING.format(version=getattr(asgiref, "__version__", "unknown")),
        RuntimeWarning,
        stacklevel=3,
    )


# Tested in a subprocess, with asgiref's internals taken away before import.
if not INTERNALS_FOUND:  # pragma: no cover
    warn_about_fallback()


class _BridgeLoop(asyncio.SelectorEventLoop):
    """A thread's own loop, which knows when it is running sync code inline.

    Meanwhile it cannot serve callbacks, so a nested ``async_to_sync`` in that
    code must not schedule onto it (it would wait forever): the loop says it
    is not running (what asgiref 3.8 checks) and refuses callbacks from its
    own thread (asgiref 3.13 then starts a loop of its own).
    """

    def __init__(self) -> None:
        super().__init__()
        self.inline_depth = 0
        self.pid = os.getpid()
        self.thread_id = threading.get_ident()

    def is_running(self) -> bool:
        return super().is_running() and not self.inline_depth

    def call_soon_threadsafe(  # type: ignore[override]
        self, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.Handle:
        if self.inline_depth and threading.get_ident() == self.thread_id:
            raise RuntimeError("this loop is busy running sync code on its own thread")
        return super().call_soon_threadsafe(callback, *args, context=context)


class _InlineExecutor(Executor):
    """Runs the thread-sensitive sync calls of the handlers at once, on this thread."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        loop = events._get_running_loop()
        # ``loop.run_in_executor`` passes an asyncio future through as it is:
        # one that is already done makes ``await`` return at once, with no
        # loop iteration (and no self-pipe write) per ORM call.
        future: Any = Future() if loop is None else loop.create_future()
        saved = _threadlocal_state()
        if isinstance(loop, _BridgeLoop):
            loop.inline_depth += 1
        events._set_running_loop(None)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
        finally:
            events._set_running_loop(loop)
            if isinstance(loop, _BridgeLoop):
                loop.inline_depth -= 1
            _restore_threadlocal_state(saved)
        return cast("Future[R]", future)


_INLINE = _InlineExecutor()
_THREADLOCAL_NAMES = ("main_event_loop", "main_event_loop_pid", "task_context")


def _threadlocal_state() -> dict[str, Any]:
    local = SyncToAsync.threadlocal
    return {name: getattr(local, name, None) for name in _THREADLOCAL_NAMES}


def _restore_threadlocal_state(state: dict[str, Any]) -> None:
    local = SyncToAsync.threadlocal
    for name, value in state.items():
        if value is None:
            if hasattr(local, name):
                delattr(local, name)
        else:
            setattr(local, name, value)


class _LoopHolder:
    """Closes its thread's loop when the thread ends (thread-local cleanup)."""

    def __init__(self) -> None:
        self.loop = _BridgeLoop()

    def __del__(self) -> None:
        loop = self.loop
        if loop.pid == os.getpid() and not loop.is_closed() and not loop.is_running():
            loop.close()


_local = threading.local()


def _thread_loop() -> _BridgeLoop:
    holder: _LoopHolder | None = getattr(_local, "holder", None)
    if holder is None or holder.loop.pid != os.getpid() or holder.loop.is_closed():
        # New thread, or a forked child: its parent's selector is not its own.
        holder = _LoopHolder()
        _local.holder = holder
    return holder.loop


class Cancellation:
    """Lets another thread cancel the handlers that :func:`run` is running."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._target: tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]] | None = None

    def attach(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        with self._lock:
            self._target = (loop, task)
            if self._cancelled:
                task.cancel()

    def detach(self) -> None:
        with self._lock:
            self._target = None

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called (sync handlers cannot be interrupted)."""
        with self._lock:
            return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._target is not None:
                loop, task = self._target
                loop.call_soon_threadsafe(task.cancel)


cancellation: contextvars.ContextVar[Cancellation | None] = contextvars.ContextVar(
    "messagebus_django_cancellation", default=None
)


def run(
    func: Callable[P, Coroutine[Any, Any, R]], /, *args: P.args, **kwargs: P.kwargs
) -> R:
    """Run ``func(*args, **kwargs)`` to completion from sync code, on this thread."""
    try:
        events.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            "dispatch() cannot be called from async code: await adispatch() instead"
        )
    if not INTERNALS_FOUND:
        return _run_with_asgiref(func, args, kwargs)
    loop = _thread_loop()
    if loop.inline_depth:
        # Called from sync code that a handler is running on this very loop.
        return async_to_sync(func)(*args, **kwargs)
    context = contextvars.copy_context()
    return context.run(_run_on, loop, func, args, kwargs)


def _run_on(
    loop: _BridgeLoop,
    func: Callable[..., Coroutine[Any, Any, R]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> R:
    executors = AsyncToSync.executors
    previous = getattr(executors, "current", None)
    executors.current = _INLINE
    cancel = cancellation.get()
    task = loop.create_task(func(*args, **kwargs))
    if cancel is not None:
        cancel.attach(loop, task)
    try:
        return loop.run_until_complete(task)
    finally:
        if cancel is not None:
            cancel.detach()
        _cancel_leftovers(loop)
        if previous is None:
            del executors.current
        else:  # pragma: no cover - only under another bridge
            executors.current = previous


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    leftovers = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not leftovers:
        return
    for task in leftovers:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))


def _run_with_asgiref(
    func: Callable[..., Coroutine[Any, Any, R]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> R:
    """:func:`run` through asgiref's public ``async_to_sync``: slower, as correct.

    asgiref sends the handlers' thread-sensitive calls back to this thread;
    its copying of contextvars back is kept to a copy of the caller's context.
    """
    context = contextvars.copy_context()
    return context.run(
        async_to_sync(_cancellable), cancellation.get(), func, args, kwargs
    )


async def _cancellable(
    cancel: Cancellation | None,
    func: Callable[..., Coroutine[Any, Any, R]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> R:
    if cancel is None:
        return await func(*args, **kwargs)
    task = asyncio.current_task()
    assert task is not None  # async_to_sync runs this as a task
    cancel.attach(asyncio.get_running_loop(), task)
    try:
        return await func(*args, **kwargs)
    finally:
        cancel.detach()
