"""``dispatch()`` and ``adispatch()``: one call, one command, one transaction.

Django has no async ``atomic``: a transaction belongs to the thread that owns
the connection. So the unit of work has one sync core: :func:`dispatch` opens
``transaction.atomic`` on the calling thread and runs the async handlers with
``async_to_sync``; their thread-sensitive ORM calls (``acreate``, ``aget``...)
come back to that same thread, inside the block. :func:`adispatch` runs
:func:`dispatch` with ``sync_to_async`` (thread-sensitive), so under ASGI each
request's command runs on that request's own sync thread. See docs/design.md.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from messagebus_django import signals
from messagebus_django.conf import conf
from messagebus_django.core import (
    AsyncMessageBus,
    Err,
    GenericCommand,
    Message,
    SyncMessageBus,
    message_type_name,
)
from messagebus_django.core.handlers import MessageHandler
from messagebus_django.dispatching import bridge
from messagebus_django.dispatching.bus import get_bus
from messagebus_django.dispatching.unit_of_work import DjangoUnitOfWork

__all__ = [
    "adispatch",
    "dispatch",
    "handle_in_transaction",
    "handle_once",
    "unit_of_work_class",
]


def unit_of_work_class() -> type[DjangoUnitOfWork]:
    """The class named by ``MESSAGEBUS_UNIT_OF_WORK``."""
    return _import_unit_of_work(conf.UNIT_OF_WORK)


@functools.lru_cache(maxsize=8)
def _import_unit_of_work(path: str) -> type[DjangoUnitOfWork]:
    # Once per path, not once per command (override_settings gives a new path).
    uow_class: type[DjangoUnitOfWork] = import_string(path)
    return uow_class


async def _handle(
    bus: AsyncMessageBus,
    command: Message[Any],
    uow: DjangoUnitOfWork,
    dependencies: dict[str, Any],
    handler: MessageHandler | None = None,
) -> Any:
    async with uow as uow_transaction:
        if handler is None:
            result = await bus.handle(command, uow_transaction, **dependencies)
        else:
            await bus.run_handler(command, handler, uow_transaction, **dependencies)
            result = None
        if isinstance(result, Err):
            await uow_transaction.rollback()
        else:
            await uow_transaction.commit()
    return result


NESTED_HINT = (
    "dispatch() opens a durable transaction of its own, but it was called inside "
    "an atomic block (yours, or ATOMIC_REQUESTS'): pass durable=False to make the "
    "command part of that block (its rollback then undoes the command too, and "
    "after-commit work waits for its commit), or call dispatch() outside it."
)


class _Atomic(transaction.Atomic):
    """``transaction.atomic`` whose nesting error says what to do about it."""

    def __enter__(self) -> None:
        try:
            super().__enter__()
        except RuntimeError as exc:
            # The one RuntimeError of Atomic.__enter__: a durable block inside
            # another, which Django reports without saying what to do.
            raise RuntimeError(f"{exc} {NESTED_HINT}") from exc


def _handle_sync(
    bus: SyncMessageBus[Any],
    command: Message[Any],
    uow: DjangoUnitOfWork,
    dependencies: dict[str, Any],
    handler: MessageHandler | None = None,
) -> Any:
    with uow.sync_view() as uow_transaction:
        if handler is None:
            result = bus.handle(command, uow_transaction, **dependencies)
        else:
            bus.run_handler(command, handler, uow_transaction, **dependencies)
            result = None
        cancel = bridge.cancellation.get()
        if cancel is not None and cancel.cancelled:
            # adispatch() was cancelled while the sync handlers ran (they
            # cannot be interrupted): roll back, as the async path does.
            raise asyncio.CancelledError
        if isinstance(result, Err):
            uow_transaction.rollback()
        else:
            uow_transaction.commit()
    return result


def dispatch(
    command: GenericCommand[Any],
    *,
    durable: bool = True,
    uow: DjangoUnitOfWork | None = None,
    bus: AsyncMessageBus | None = None,
    **dependencies: Any,
) -> Any:
    """Handle ``command`` and the events it causes in one database transaction.

    For sync callers: sync views, admin actions, management commands, workers.
    Returns the command handler's result. If a handler raises, everything is
    rolled back and the exception propagates; if the command handler returns
    an ``Err``, everything is rolled back and the ``Err`` is returned.

    ``durable=True`` (the default) makes an accidental outer ``atomic`` a
    ``RuntimeError``; pass ``durable=False`` where Django already opened one
    that the command must join (``ModelAdmin.save_model``). Keyword arguments
    are dependencies for this command's handlers.
    """
    the_bus = bus if bus is not None else get_bus()
    the_uow = uow if uow is not None else unit_of_work_class()()
    store = the_uow.metrics_store
    measured = not store.idle
    heard = bool(signals.dispatch_finished.receivers)
    if not measured and not heard:
        # Nothing measures and nobody listens: no timing.
        with _Atomic(the_uow.using, True, durable):
            return handle_in_transaction(the_bus, command, the_uow, dependencies)
    outcome = "failed"
    started = time.perf_counter()
    try:
        with _Atomic(the_uow.using, True, durable):
            result = handle_in_transaction(the_bus, command, the_uow, dependencies)
        outcome = "rolled_back" if the_uow.rollback_requested else "committed"
        return result
    finally:
        seconds = time.perf_counter() - started
        if measured:
            handled = (
                []
                if outcome == "failed"
                else [message_type_name(m) for m in the_uow.handled_messages()]
            )
            store.observe_dispatch(
                message_type_name(command), outcome, seconds, handled
            )
        if heard:
            signals.dispatch_finished.send(
                type(the_uow),
                uow=the_uow,
                command=command,
                outcome=outcome,
                seconds=seconds,
            )


def handle_in_transaction(
    bus: AsyncMessageBus,
    message: Message[Any],
    uow: DjangoUnitOfWork,
    dependencies: dict[str, Any],
    *,
    handler: MessageHandler | None = None,
) -> Any:
    """Run the handlers inside the caller's open ``atomic`` block and settle it.

    With ``handler``, only that handler of the event ``message`` (and the
    handlers of the events it raises): what a background handler's task runs.
    """
    if bus.all_sync:
        # messagebus's sync bus over the same handlers: no event loop, no
        # thread hop; the sync handlers run right here.
        result = _handle_sync(bus.sync_view(), message, uow, dependencies, handler)
    else:
        result = bridge.run(_handle, bus, message, uow, dependencies, handler)
    uow.end()
    return result


def handle_once(
    bus: AsyncMessageBus,
    event: Message[Any],
    uow: DjangoUnitOfWork,
    record: Callable[[str], object],
    *,
    handler: MessageHandler | None = None,
) -> bool:
    """Handle a received ``event`` once, in one durable transaction on ``uow``'s
    database: ``record(using)`` first inserts the once-record (an inbox row, a
    ``HandledEvent``), then the handlers run (only ``handler``, if given).

    ``False``, with nothing run, when the record's unique constraint says the
    event was applied already.
    """
    # The event was stored where it was raised: record only what it causes.
    uow.received(event)
    with transaction.atomic(using=uow.using, durable=True):
        try:
            with transaction.atomic(using=uow.using):
                record(uow.using)
        except IntegrityError:
            return False
        handle_in_transaction(bus, event, uow, {}, handler=handler)
    return True


# Made once: asgiref's wrapper inspects the function it wraps (~35,000
# instructions), and holds nothing of a call.
_dispatch_on_the_sync_thread = sync_to_async(dispatch)


async def adispatch(
    command: GenericCommand[Any],
    *,
    durable: bool = True,
    uow: DjangoUnitOfWork | None = None,
    bus: AsyncMessageBus | None = None,
    **dependencies: Any,
) -> Any:
    """:func:`dispatch` for async callers: async views, async workers.

    Runs :func:`dispatch` on the thread-sensitive sync thread (one per request
    under ASGI), so the handlers' ORM calls all share one transaction. A
    cancelled request rolls the command back.
    """
    cancel = bridge.Cancellation()
    token = bridge.cancellation.set(cancel)
    try:
        return await _dispatch_on_the_sync_thread(
            command, durable=durable, uow=uow, bus=bus, **dependencies
        )
    except asyncio.CancelledError:
        # The sync thread goes on: cancel its handlers so the command rolls back.
        cancel.cancel()
        raise
    finally:
        bridge.cancellation.reset(token)
