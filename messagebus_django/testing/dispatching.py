"""Dispatching in tests (Django): dispatch_and_record() and seed()."""

from __future__ import annotations

import asyncio
from typing import (
    TYPE_CHECKING,
    Any,
    NamedTuple,
    Protocol,
)

from messagebus_django.core import (
    AsyncMessageBus,
    Err,
    GenericCommand,
    Message,
)
from messagebus_django.testing.recording import MessageRecorder

if TYPE_CHECKING:
    from messagebus_django.dispatching.unit_of_work import DjangoUnitOfWork


class Dispatched(NamedTuple):
    """What :func:`dispatch_and_record` returns: ``result, messages = ...``."""

    result: Any
    """The command handler's result, as ``dispatch`` returns it."""
    messages: list[Message[Any]]
    """Every message handled, the command first (see :class:`MessageRecorder`)."""


class MessagebusDispatch(Protocol):
    """The type of the ``messagebus_dispatch`` fixture (:func:`dispatch_and_record`)."""

    def __call__(
        self,
        command: GenericCommand[Any],
        /,
        *,
        durable: bool = True,
        uow: DjangoUnitOfWork | None = None,
        bus: AsyncMessageBus | None = None,
        **dependencies: Any,
    ) -> Dispatched:
        """Dispatch ``command``; return its result and the messages handled."""


class MessagebusSeed(Protocol):
    """The type of the ``messagebus_seed`` fixture (:func:`seed`)."""

    def __call__(
        self,
        *commands: GenericCommand[Any],
        bus: AsyncMessageBus | None = None,
        **dependencies: Any,
    ) -> list[Any]:
        """Dispatch each command; fail the test if one fails."""


def _refuse_event_loop(what: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{what} calls dispatch(), which cannot run inside an event loop: use it "
        "from a sync test or fixture, or 'await adispatch(...)' in an async test"
    )


def dispatch_and_record(
    command: GenericCommand[Any],
    /,
    *,
    durable: bool = True,
    uow: DjangoUnitOfWork | None = None,
    bus: AsyncMessageBus | None = None,
    **dependencies: Any,
) -> Dispatched:
    """``dispatch(command, ...)``, also returning the messages it handled.

    Takes the arguments of :func:`~messagebus_django.dispatch`; the unit of
    work is the project's (``MESSAGEBUS_UNIT_OF_WORK``) unless given.
    """
    _refuse_event_loop("dispatch_and_record()")
    from messagebus_django.dispatching.dispatcher import dispatch, unit_of_work_class

    recorder = MessageRecorder()
    the_uow = recorder.watch(uow if uow is not None else unit_of_work_class()())
    result = dispatch(command, durable=durable, uow=the_uow, bus=bus, **dependencies)
    return Dispatched(result, recorder.messages)


class SeedError(AssertionError):
    """A command given to :func:`seed` returned an ``Err`` or raised."""


def seed(
    *commands: GenericCommand[Any],
    bus: AsyncMessageBus | None = None,
    **dependencies: Any,
) -> list[Any]:
    """Dispatch each command in turn, to set up the state a test starts from.

    Returns their results. A command that returns an ``Err`` or raises stops
    the seeding with a :class:`SeedError` that names it (an exception is its
    cause). Each command is its own transaction, as in production; inside a
    test's transaction (pytest-django's ``db``, ``TestCase``) ``dispatch``'s
    durable block is allowed, so nothing needs ``durable=False``.
    """
    __tracebackhide__ = True
    _refuse_event_loop("seed()")
    from messagebus_django.dispatching.dispatcher import dispatch

    results: list[Any] = []
    for position, command in enumerate(commands, start=1):
        where = f"seeding failed at command {position} of {len(commands)}, {command!r}"
        try:
            result = dispatch(command, bus=bus, **dependencies)
        except Exception as exc:
            raise SeedError(f"{where}: it raised {type(exc).__name__}: {exc}") from exc
        if isinstance(result, Err):
            raise SeedError(f"{where}: it returned {result!r}")
        results.append(result)
    return results
