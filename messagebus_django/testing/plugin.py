"""The pytest plugin of messagebus_django: fixtures for testing handlers.

Installed with the package and loaded by pytest through the ``pytest11``
entry point. Pytest loads it in every session, Django project or not, so at
import time it imports no Django but ``django.dispatch`` (for the signals
:func:`~messagebus_django.testing.record_messages` receives); the fixtures that need the Django layer import it when they run.
Those that touch the database request pytest-django's ``db``. See
``docs/testing.md``.

``messagebus_bus``
    The project's bus (``get_bus()``); rebuilt after the test.
``messagebus_repositories``
    ``{name: repository}`` for ``messagebus_uow``; override it in a conftest.
``messagebus_uow``
    An :class:`~messagebus_django.testing.InMemoryUnitOfWork` over those
    repositories: handlers run without a database.
``messagebus_events``
    The event stream sent to an in-memory transport
    (:class:`~messagebus_django.testing.EventCapture`); ``flush()`` relays
    the outbox.
``messagebus_recorder``
    A :class:`~messagebus_django.testing.MessageRecorder` of every message any
    bus handles during the test.
``messagebus_dispatch``
    ``result, messages = messagebus_dispatch(command)``.
``messagebus_seed``
    ``messagebus_seed(*commands)``: dispatch each, fail the test on an
    ``Err`` or an exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from messagebus_django.testing import (
    EventCapture,
    InMemoryMessageStore,
    InMemoryUnitOfWork,
    MessagebusDispatch,
    MessagebusSeed,
    MessageRecorder,
    SeedError,
    capture_events,
    dispatch_and_record,
    record_messages,
    seed,
)

if TYPE_CHECKING:
    from messagebus_django.core import (
        AsyncAbstractRepository,
        AsyncMessageBus,
        GenericCommand,
    )

_CAPTURES = ("messagebus_events", "messagebus_recorder")
"""Fixtures that leave out what seeding produced."""


@pytest.fixture
def messagebus_bus() -> Iterator[AsyncMessageBus]:
    """The project's bus; what the test registers on it does not outlive the test."""
    from messagebus_django.dispatching.bus import get_bus, reset_bus

    yield get_bus()
    reset_bus()


@pytest.fixture
def messagebus_repositories() -> dict[str, AsyncAbstractRepository[Any]]:
    """The repositories of ``messagebus_uow``, by attribute name: none.

    Override it in your ``conftest.py`` with fresh in-memory repositories::

        @pytest.fixture
        def messagebus_repositories():
            return {"books": InMemoryBookRepository()}
    """
    return {}


@pytest.fixture
def messagebus_uow(
    messagebus_repositories: dict[str, AsyncAbstractRepository[Any]],
) -> InMemoryUnitOfWork:
    """An in-memory unit of work over ``messagebus_repositories``; no database."""
    return InMemoryUnitOfWork(
        messagestore=InMemoryMessageStore(), **messagebus_repositories
    )


@pytest.fixture
def messagebus_events(db: None) -> Iterator[EventCapture]:
    """What the relay sends, captured in memory; ``flush()`` relays the outbox."""
    with capture_events() as events:
        yield events


@pytest.fixture
def messagebus_recorder() -> Iterator[MessageRecorder]:
    """Every message any bus handles during the test, in order."""
    with record_messages() as recorder:
        yield recorder


@pytest.fixture
def messagebus_dispatch(db: None) -> MessagebusDispatch:
    """``result, messages = messagebus_dispatch(command, **dispatch_options)``."""
    return dispatch_and_record


@pytest.fixture
def messagebus_seed(db: None, request: pytest.FixtureRequest) -> MessagebusSeed:
    """``messagebus_seed(*commands)``: dispatch each; fail the test if one fails.

    What the seeded commands produced is left out of ``messagebus_events``
    and ``messagebus_recorder``: seeding arranges the test, it is not what the
    test checks.
    """

    def seed_or_fail(
        *commands: GenericCommand[Any],
        bus: AsyncMessageBus | None = None,
        **dependencies: Any,
    ) -> list[Any]:
        __tracebackhide__ = True
        failure: SeedError | None = None
        try:
            results = seed(*commands, bus=bus, **dependencies)
        except SeedError as error:
            failure = error
        if failure is not None:
            # Failing outside the except block keeps SeedError out of the report.
            if failure.__cause__ is None:
                pytest.fail(str(failure), pytrace=False)  # an Err says it all
            raise pytest.fail.Exception(str(failure)) from failure.__cause__
        for name in _CAPTURES:
            if name in request.fixturenames:
                request.getfixturevalue(name).clear()
        return results

    return seed_or_fail
