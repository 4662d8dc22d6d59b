"""The sync-to-async bridge of :func:`~messagebus_django.dispatch`.

``async_to_sync`` called from a thread without an event loop starts a new
thread and a new loop on every call (about 0.46 ms), and every async ORM call
of the handlers then hops back to the calling thread. Here, instead, each
calling thread keeps one event loop of its own and runs the handlers on it,
and the handlers' thread-sensitive ``sync_to_async`` calls (the async ORM)
run at once, on that same thread, inside the caller's ``atomic`` block: with
the running-loop marker cleared for the call, Django sees a plain sync thread
and uses the caller's connection. The handlers' task is created with its
first step kept back from the loop (:meth:`_BridgeLoop.start`: a task
schedules that step with ``loop.call_soon``) and run at once, with the loop
marked running (:meth:`_BridgeLoop.step`): a handler whose awaits all
complete at once (inline ORM calls) is done after it, with no loop iteration;
one that suspends is finished by ``run_until_complete``. See docs/design.md,
"Making dispatch() cheap".

It relies on asgiref's routing of thread-sensitive calls: ``SyncToAsync``
hands them to ``AsyncToSync.executors.current``, through
``loop.run_in_executor``. That routing is the same from asgiref 3.8 to 3.13,
and the tests exercise it. asgiref is not capped for it: at import, this
module checks that those internals are there (:data:`INTERNALS_FOUND`); where
they are not, :func:`run` takes asgiref's public ``async_to_sync`` instead
(the same transaction, just slower), and one ``RuntimeWarning`` says so.

Obligations kept: the handlers run in a task, on a loop that says it is
running, with the loop's own async-generator hooks (its protected
``_asyncgen_*_hook`` methods, as ``run_forever`` installs them); a task
whose first step would not come through ``call_soon`` (none in Python 3.11
to 3.13) is simply left to ``run_until_complete``. Leftover tasks are cancelled
after each call (as ``asyncio.run`` does), after the loop pass that followed
the task's end (the loop counts what is scheduled on it: a step that
scheduled nothing needs no pass); a thread's loop is closed when the thread
ends, and a forked child makes a new one; nested use (a sync function called
from a handler that itself dispatches, or calls ``async_to_sync``) falls back
to asgiref's own machinery; contextvar changes made by handlers do not flow
back to the caller; a cancelled ``adispatch`` cancels the handlers.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import sys
import threading
import warnings
from asyncio import events
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar, cast

import asgiref
from asgiref.sync import AsyncToSync, SyncToAsync, async_to_sync, sync_to_async

__all__ = ["INTERNALS_FOUND", "Cancellation", "call_sync", "cancellation", "run"]

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

    It also runs the first step of the handlers' task at once (:meth:`step`),
    and counts what is scheduled on it (:attr:`scheduled`), so that :func:`run`
    knows when that step left nothing for the loop to do.
    """

    def __init__(self) -> None:
        self.inline_depth = 0
        self.stepping = False
        self.scheduled = 0
        """How many callbacks and timers were scheduled (only compared)."""
        self.settled = 0
        """:attr:`scheduled` when the loop last ran."""
        self._first_step: list[Any] | None = None
        super().__init__()
        self.pid = os.getpid()
        self.thread_id = threading.get_ident()

    def is_running(self) -> bool:
        return (self.stepping or super().is_running()) and not self.inline_depth

    def call_soon(  # type: ignore[override]
        self, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.Handle:
        first_step = self._first_step
        if first_step is not None and not first_step:
            # The task being created schedules its first step: keep it, for
            # step() to run now, instead of waiting for a loop iteration.
            first_step.append(callback)
            return asyncio.Handle(callback, args, self, context)
        self.scheduled += 1
        return super().call_soon(callback, *args, context=context)

    def call_at(  # type: ignore[override]
        self,
        when: float,
        callback: Callable[..., object],
        *args: Any,
        context: Any = None,
    ) -> asyncio.TimerHandle:
        self.scheduled += 1
        return super().call_at(when, callback, *args, context=context)

    def call_soon_threadsafe(  # type: ignore[override]
        self, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.Handle:
        if self.inline_depth and threading.get_ident() == self.thread_id:
            raise RuntimeError("this loop is busy running sync code on its own thread")
        self.scheduled += 1  # from any thread: it is only compared
        return super().call_soon_threadsafe(callback, *args, context=context)

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Callable[..., R], *args: Any
    ) -> asyncio.Future[R]:
        if executor is _INLINE:
            return _run_inline(self, func, args)
        return super().run_in_executor(executor, func, *args)

    def start(
        self, coro: Coroutine[Any, Any, R], context: contextvars.Context
    ) -> tuple[asyncio.Task[R], Callable[[], object] | None]:
        """A task of ``coro``, and its first step if it was kept for :meth:`step`."""
        first_step: list[Callable[[], object]] = []
        self._first_step = first_step
        try:
            task = asyncio.Task(coro, loop=self, context=context)
        finally:
            self._first_step = None
        return task, (first_step[0] if first_step else None)

    def step(
        self, first_step: Callable[[], object], context: contextvars.Context
    ) -> None:
        """Run a task's first step now, as the loop would (it appears running)."""
        hooks = sys.get_asyncgen_hooks()
        # The loop's own hooks, as run_forever() installs them.
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
            finalizer=self._asyncgen_finalizer_hook,  # type: ignore[attr-defined]
        )
        self.stepping = True
        events._set_running_loop(self)
        try:
            context.run(first_step)
        finally:
            events._set_running_loop(None)
            self.stepping = False
            sys.set_asyncgen_hooks(*hooks)

    def one_pass(self) -> None:
        """Run what is ready once (what the loop did after a task's last step)."""
        super().call_soon(self.stop)
        self.run_forever()


class _InlineExecutor(Executor):
    """Runs the thread-sensitive sync calls of the handlers at once, on this thread.

    :class:`_BridgeLoop` runs them itself (:func:`_run_inline`, from its
    ``run_in_executor``); ``submit`` serves any other caller that this
    executor reaches through asgiref's ``AsyncToSync.executors``.
    """

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        loop = events._get_running_loop()
        if isinstance(loop, _BridgeLoop):
            done = _run_inline(loop, functools.partial(fn, *args, **kwargs), ())
            return cast("Future[R]", done)
        future: Any = Future() if loop is None else loop.create_future()
        saved = _threadlocal_state()
        events._set_running_loop(None)
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        finally:
            events._set_running_loop(loop)
            _restore_threadlocal_state(saved)
        return cast("Future[R]", future)


def _run_inline(
    loop: _BridgeLoop, fn: Callable[..., R], args: tuple[Any, ...]
) -> asyncio.Future[R]:
    """Call ``fn(*args)`` now, as plain sync code, and return a done future of it.

    :meth:`_BridgeLoop.run_in_executor` returns it to asgiref as it is: a
    future that is already done makes ``await`` return at once, with no loop
    iteration (and no self-pipe write) per ORM call.
    """
    future: asyncio.Future[R] = asyncio.Future(loop=loop)
    try:
        future.set_result(_call_inline(loop, fn, args))
    except BaseException as exc:
        future.set_exception(exc)
    return future


def _call_inline(loop: _BridgeLoop, fn: Callable[..., R], args: tuple[Any, ...]) -> R:
    """``fn(*args)`` as plain sync code: the loop says it is not running meanwhile."""
    saved = _threadlocal_state()
    loop.inline_depth += 1
    events._set_running_loop(None)
    try:
        return fn(*args)
    finally:
        events._set_running_loop(loop)
        loop.inline_depth -= 1
        _restore_threadlocal_state(saved)


def _threadlocal_state() -> dict[str, Any]:
    """A copy of this thread's ``SyncToAsync.threadlocal``: asgiref's
    ``thread_handler`` sets it up for a worker thread, and here the worker
    thread is the caller's."""
    return vars(SyncToAsync.threadlocal).copy()


def _restore_threadlocal_state(saved: dict[str, Any]) -> None:
    state = vars(SyncToAsync.threadlocal)
    state.clear()
    state.update(saved)


_INLINE = _InlineExecutor()


class _LoopHolder:
    """Closes its thread's loop when the thread ends (thread-local cleanup)."""

    def __init__(self) -> None:
        self.loop = _BridgeLoop()
        self.forks = _forks

    def __del__(self) -> None:
        loop = self.loop
        if loop.pid == os.getpid() and not loop.is_closed() and not loop.is_running():
            loop.close()


_local = threading.local()
_forks = 0
"""How many times this process is a forked child (not one ``getpid`` per call)."""


def _forked() -> None:
    global _forks
    _forks += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def _thread_loop() -> _BridgeLoop:
    holder: _LoopHolder | None = getattr(_local, "holder", None)
    if holder is None or holder.forks != _forks or holder.loop.is_closed():
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
        self._sent = False

    def attach(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        with self._lock:
            self._target = (loop, task)
            if self._cancelled:
                task.cancel()

    def detach(self) -> bool:
        """Whether :meth:`cancel` scheduled the cancel on the loop meanwhile."""
        with self._lock:
            self._target = None
            return self._sent

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
                self._sent = True


cancellation: contextvars.ContextVar[Cancellation | None] = contextvars.ContextVar(
    "messagebus_django_cancellation", default=None
)


def run(
    func: Callable[P, Coroutine[Any, Any, R]], /, *args: P.args, **kwargs: P.kwargs
) -> R:
    """Run ``func(*args, **kwargs)`` to completion from sync code, on this thread."""
    if events._get_running_loop() is not None:
        raise RuntimeError(
            "dispatch() cannot be called from async code: await adispatch() instead"
        )
    if not INTERNALS_FOUND:
        return _run_with_asgiref(func, args, kwargs)
    loop = _thread_loop()
    if loop.inline_depth:
        # Called from sync code that a handler is running on this very loop.
        return async_to_sync(func)(*args, **kwargs)
    # The handlers run in a copy of the caller's context: what they set stays there.
    context = contextvars.copy_context()
    coro = context.run(_start, func, args, kwargs)
    task, first_step = loop.start(coro, context)
    cancel = cancellation.get()
    if cancel is not None:
        cancel.attach(loop, task)
    looped = False
    try:
        if first_step is not None:
            # Handlers whose awaits all complete at once (their ORM calls run
            # inline) are done after this step: no loop iteration at all.
            loop.step(first_step, context)
            if task.done():
                return task.result()
        looped = True
        return loop.run_until_complete(task)
    finally:
        sent = cancel is not None and cancel.detach()
        if not looped and (sent or loop.scheduled != loop.settled):
            # Something was scheduled meanwhile: give it the loop pass that
            # used to follow the task's end.
            loop.one_pass()
            looped = True
        if looped:
            _cancel_leftovers(loop)
            loop.settled = loop.scheduled


async def call_sync(func: Callable[..., R], /, *args: Any) -> R:
    """``await sync_to_async(func)(*args)`` (thread-sensitive), for our own ORM calls.

    Inside :func:`run`'s handlers, where asgiref would route the call to
    :func:`_run_inline` anyway, it is called there directly, with no
    ``SyncToAsync`` built and called per call (3.9 us of CPU instead of
    17.5 us, a no-op function). Anywhere else (no running loop of ours: a
    caller's own loop, or inline sync code, during which ours says it is not
    running), asgiref's ``sync_to_async``.
    """
    loop = events._get_running_loop()
    if (
        type(loop) is _BridgeLoop
        and getattr(AsyncToSync.executors, "current", None) is _INLINE
    ):
        return _call_inline(loop, func, args)
    return await sync_to_async(func)(*args)


def _start(
    func: Callable[..., Coroutine[Any, Any, R]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Coroutine[Any, Any, R]:
    """In the handlers' context: route their thread-sensitive calls inline."""
    AsyncToSync.executors.current = _INLINE
    return func(*args, **kwargs)


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
