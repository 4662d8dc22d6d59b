"""``AsyncMessageBus.registrations()``: what is registered, for tools to show."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from messagebus_django import Registration as ExportedRegistration
from messagebus_django.core import (
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    GenericCommand,
    GenericEvent,
    Metadata,
    Registration,
)
from tests.core.handlers_pkg import commands as pkg_commands
from tests.core.handlers_pkg.messages import PkgCommand, PkgEvent
from tests.core.handlers_pkg.sub import events as pkg_events

Transaction = AsyncUnitOfWorkTransaction[Any]

PKG = "tests.core.handlers_pkg"


class Ask(GenericCommand[Metadata]):
    metadata: Metadata = Metadata(name="ask", schema_version=1)


class Told(GenericEvent[Metadata]):
    metadata: Metadata = Metadata(name="told", schema_version=1)


async def answer(
    command: Ask, transaction: Transaction, clock: Any, mailer: Any = None
) -> None:
    """Needs a clock, takes a mailer when there is one."""


async def on_told(event: Told, transaction: Transaction, *args: Any, **kw: Any) -> None:
    """*args and **kwargs name no dependency."""


class CallableHandler:
    """An object whose ``__call__`` is an ``async def``."""

    async def __call__(self, event: Told, transaction: Transaction) -> None:
        """Does nothing."""


def sync_handler(event: Told, transaction: Transaction) -> None:
    """Not awaitable: ``add_listener`` takes it, ``handle`` would fail."""


def test_registration_is_exported() -> None:
    assert ExportedRegistration is Registration


def test_an_empty_bus_has_no_registrations() -> None:
    assert AsyncMessageBus().registrations() == []


def test_scanned_handlers_commands_first_events_in_run_order() -> None:
    bus = AsyncMessageBus()
    bus.scan(PKG)
    assert bus.registrations() == [
        Registration(
            message_type=PkgCommand,
            kind="command",
            handler=pkg_commands.handle_pkg_command,
            qualified_name=f"{PKG}.commands:handle_pkg_command",
            is_async=True,
            required=(),
            optional=(),
        ),
        Registration(
            message_type=PkgEvent,
            kind="event",
            handler=pkg_events.on_pkg_event,
            qualified_name=f"{PKG}.sub.events:on_pkg_event",
            is_async=True,
            required=(),
            optional=(),
        ),
        Registration(
            message_type=PkgEvent,
            kind="event",
            handler=pkg_events.audit_pkg_event,
            qualified_name=f"{PKG}.sub.events:audit_pkg_event",
            is_async=True,
            required=(),
            optional=(),
        ),
    ]


def test_commands_come_first_whatever_the_registration_order() -> None:
    bus = AsyncMessageBus()
    bus.add_listener(Told, on_told)
    bus.add_listener(Ask, answer)
    assert [r.kind for r in bus.registrations()] == ["command", "event"]
    assert [r.handler for r in bus.registrations()] == [answer, on_told]


def test_dependencies_required_then_optional_marked() -> None:
    bus = AsyncMessageBus()
    bus.add_listener(Ask, answer)
    bus.add_listener(Told, on_told)
    asked, told = bus.registrations()
    assert asked.required == ("clock",)
    assert asked.optional == ("mailer",)
    assert asked.dependencies == ("clock", "mailer?")
    assert told.dependencies == ()


def test_qualified_name_of_a_local_function() -> None:
    async def local(command: Ask, transaction: Transaction) -> None:
        """Defined in a test."""

    bus = AsyncMessageBus()
    bus.add_listener(Ask, local)
    (registration,) = bus.registrations()
    assert registration.qualified_name == (
        f"{__name__}:test_qualified_name_of_a_local_function.<locals>.local"
    )


def test_a_callable_object_is_async_and_named_by_its_class() -> None:
    bus = AsyncMessageBus()
    handler = CallableHandler()
    bus.add_listener(Told, handler)
    (registration,) = bus.registrations()
    assert registration.handler is handler
    assert registration.is_async
    assert registration.qualified_name == f"{__name__}:CallableHandler"


def test_a_sync_function_added_by_hand_is_reported_sync() -> None:
    bus = AsyncMessageBus()
    not_async: Any = sync_handler
    bus.add_listener(Told, not_async)
    (registration,) = bus.registrations()
    assert not registration.is_async
    assert registration.qualified_name == f"{__name__}:sync_handler"


def test_registrations_are_a_frozen_snapshot() -> None:
    bus = AsyncMessageBus()
    bus.add_listener(Ask, answer)
    snapshot = bus.registrations()
    bus.add_listener(Told, on_told)
    assert len(snapshot) == 1
    assert len(bus.registrations()) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot[0].kind = "event"  # type: ignore[misc]
