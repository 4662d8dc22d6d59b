"""``@async_listen``, ``AsyncMessageBus`` registration, scanning and handling."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

import pytest
import venusian

from messagebus_django.core import (
    AsyncMessageBus,
    AsyncUnitOfWorkTransaction,
    ConfigurationError,
    GenericCommand,
    GenericEvent,
    Message,
    Metadata,
    MissingDependencyError,
    MissingHandlerError,
    TransactionStatus,
    async_listen,
    listened_type,
)
from tests.core.fakes import FakeUnitOfWork, RecordingDependency, raise_messages
from tests.core.handlers_pkg import commands as pkg_commands
from tests.core.handlers_pkg.messages import PkgCommand, PkgEvent
from tests.core.handlers_pkg.sub import events as pkg_events

Transaction = AsyncUnitOfWorkTransaction[Any]

# The scanned event handlers, in the order their module defines them.
PKG_EVENT_HANDLERS = [pkg_events.on_pkg_event, pkg_events.audit_pkg_event]


class Start(GenericCommand[Metadata]):
    label: str = "start"
    metadata: Metadata = Metadata(name="start", schema_version=1)


class Follow(GenericCommand[Metadata]):
    metadata: Metadata = Metadata(name="follow", schema_version=1)


class Unhandled(GenericCommand[Metadata]):
    metadata: Metadata = Metadata(name="unhandled", schema_version=1)


class Step(GenericEvent[Metadata]):
    name: str
    metadata: Metadata = Metadata(name="step", schema_version=1)


class Other(GenericEvent[Metadata]):
    metadata: Metadata = Metadata(name="other", schema_version=1)


class Bare(Message[Metadata]):
    """Neither a command nor an event."""

    metadata: Metadata = Metadata(name="bare", schema_version=1)


class Clock:
    """A dependency the bus instantiates (counts its instances)."""

    created: list[Clock] = []

    def __init__(self) -> None:
        Clock.created.append(self)


class Unused:
    created: list[Unused] = []

    def __init__(self) -> None:
        Unused.created.append(self)


@pytest.fixture(autouse=True)
def _reset_factories() -> None:
    Clock.created = []
    Unused.created = []


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def bus() -> AsyncMessageBus:
    return AsyncMessageBus()


def copy_of_module(name: str) -> ModuleType:
    """Import the module ``name`` again, as a second start-up would.

    The copy is not put in ``sys.modules``: other tests keep the original.
    """
    original = sys.modules[name]
    assert original.__file__ is not None
    spec = importlib.util.spec_from_file_location(name, original.__file__)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# @async_listen and listened_type ---------------------------------------------


def test_async_listen_refuses_a_sync_function() -> None:
    def sync_handler(command: Start, transaction: Transaction) -> None:
        """Not async."""

    not_async: Any = sync_handler
    with pytest.raises(ConfigurationError, match="needs an 'async def'") as raised:
        async_listen(not_async)
    assert "test_async_listen_refuses_a_sync_function.<locals>.sync_handler" in str(
        raised.value
    )


def test_async_listen_returns_the_function_itself() -> None:
    assert async_listen(pkg_commands.handle_pkg_command) is (
        pkg_commands.handle_pkg_command
    )


def test_listened_type_is_the_first_parameter_annotation() -> None:
    assert listened_type(pkg_commands.handle_pkg_command) is PkgCommand
    assert listened_type(pkg_events.on_pkg_event) is PkgEvent


async def _no_parameters() -> None:
    """No parameter at all."""


async def _not_annotated(command, transaction):  # type: ignore[no-untyped-def]
    """First parameter not annotated."""


async def _annotated_with_int(command: int, transaction: Transaction) -> None:
    """Annotated, but not with a message class."""


async def _annotated_with_bare(message: Bare, transaction: Transaction) -> None:
    """A message that is neither a command nor an event."""


@pytest.mark.parametrize(
    ("handler", "shown"),
    [
        (
            _no_parameters,
            "takes no parameter: its first parameter must be the message",
        ),
        (
            _not_annotated,
            "has no annotation on its first parameter 'command': annotate it with "
            "the command or event class it handles (command: RegisterBook)",
        ),
        (_annotated_with_int, "must annotate its first parameter"),
        (_annotated_with_bare, "must annotate its first parameter"),
    ],
)
def test_listened_type_explains_a_missing_annotation(handler: Any, shown: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        listened_type(handler)
    message = str(raised.value)
    assert f"tests.core.test_registry.{handler.__name__} " in message
    assert shown in message
    assert "inspect._empty" not in message


def test_scan_names_an_unannotated_handler(bus: AsyncMessageBus) -> None:
    with pytest.raises(ConfigurationError, match="has no annotation on its first"):
        bus.scan("tests.core.unannotated_handlers")
    assert bus.registrations() == []


@pytest.mark.parametrize(
    ("handler", "shown"),
    [
        (_annotated_with_int, "<class 'int'>"),
        (_annotated_with_bare, "Bare"),
    ],
)
def test_listened_type_needs_a_message_annotation(handler: Any, shown: str) -> None:
    with pytest.raises(
        ConfigurationError, match="must annotate its first parameter"
    ) as raised:
        listened_type(handler)
    message = str(raised.value)
    assert f"tests.core.test_registry.{handler.__name__}" in message
    assert shown in message


def test_unresolvable_annotation_is_a_configuration_error(
    bus: AsyncMessageBus,
) -> None:
    with pytest.raises(ConfigurationError, match="TYPE_CHECKING") as raised:
        bus.scan("tests.core.type_checking_handlers")
    message = str(raised.value)
    assert "tests.core.type_checking_handlers.handle_invisible" in message
    assert "PkgCommand" in message
    assert isinstance(raised.value.__cause__, NameError)
    assert not bus.has_handler(PkgCommand)


# scan -----------------------------------------------------------------------


def test_scan_a_module(bus: AsyncMessageBus) -> None:
    bus.scan("tests.core.handlers_pkg.commands")

    assert bus.handlers_of(PkgCommand) == [pkg_commands.handle_pkg_command]
    # The module's undecorated function is not registered.
    assert not bus.has_handler(PkgEvent)


def test_scan_a_package_recursively(bus: AsyncMessageBus) -> None:
    bus.scan("tests.core.handlers_pkg")

    assert bus.handlers_of(PkgCommand) == [pkg_commands.handle_pkg_command]
    assert bus.handlers_of(PkgEvent) == PKG_EVENT_HANDLERS


def test_scan_several_names(bus: AsyncMessageBus) -> None:
    bus.scan("tests.core.handlers_pkg.commands", "tests.core.handlers_pkg.sub")

    assert bus.handlers_of(PkgCommand) == [pkg_commands.handle_pkg_command]
    assert bus.handlers_of(PkgEvent) == PKG_EVENT_HANDLERS


def test_scan_registers_handlers_in_definition_order(bus: AsyncMessageBus) -> None:
    names = [handler.__name__ for handler in PKG_EVENT_HANDLERS]
    assert names != sorted(names)  # venusian visits them by name

    bus.scan("tests.core.handlers_pkg.sub.events")

    assert bus.handlers_of(PkgEvent) == PKG_EVENT_HANDLERS


def test_scan_a_module_twice_in_one_call(bus: AsyncMessageBus) -> None:
    bus.scan("tests.core.handlers_pkg", "tests.core.handlers_pkg.sub.events")

    assert bus.handlers_of(PkgEvent) == PKG_EVENT_HANDLERS


def test_scan_twice_is_harmless(bus: AsyncMessageBus) -> None:
    bus.scan("tests.core.handlers_pkg")
    bus.scan("tests.core.handlers_pkg")

    assert bus.handlers_of(PkgCommand) == [pkg_commands.handle_pkg_command]
    assert bus.handlers_of(PkgEvent) == PKG_EVENT_HANDLERS


def test_scan_refuses_a_relative_name(bus: AsyncMessageBus) -> None:
    with pytest.raises(
        ValueError,
        match=r"^scan error: relative package unsupported for \.handlers_pkg\n",
    ) as raised:
        bus.scan(".handlers_pkg")
    assert raised.value.__notes__ == ["scan() takes absolute dotted module names."]
    assert bus.commands_registry == {}
    assert bus.events_registry == {}


def test_scan_propagates_an_import_error_of_the_module(bus: AsyncMessageBus) -> None:
    with pytest.raises(ImportError, match="broken_handlers: a dependency"):
        bus.scan("tests.core.broken_handlers")


def test_scan_propagates_an_import_error_in_a_package(bus: AsyncMessageBus) -> None:
    with pytest.raises(ImportError, match=r"broken_pkg\.broken: a dependency"):
        bus.scan("tests.core.broken_pkg")


def test_scan_of_a_missing_module_raises(bus: AsyncMessageBus) -> None:
    with pytest.raises(ModuleNotFoundError, match="no_such_handlers"):
        bus.scan("tests.core.no_such_handlers")


@pytest.mark.parametrize("scanner_arguments", [{}, {"messagebus": "not a bus"}])
def test_other_venusian_scanners_are_ignored(scanner_arguments: dict[str, Any]) -> None:
    """Another library's scanner may walk a handlers module: it registers nothing.

    Calling ``add_listener`` on its ``messagebus`` would raise AttributeError.
    """
    scanner = venusian.Scanner(**scanner_arguments)

    scanner.scan(pkg_commands, categories=["messagebus_django"])

    assert getattr(scanner, "messagebus", None) in (None, "not a bus")


# add_listener ---------------------------------------------------------------


async def _start_handler(command: Start, transaction: Transaction) -> str:
    return "first"


async def _other_start_handler(command: Start, transaction: Transaction) -> str:
    return "second"


def test_second_command_handler_is_refused(bus: AsyncMessageBus) -> None:
    bus.add_listener(Start, _start_handler)

    with pytest.raises(ConfigurationError, match="exactly one handler") as raised:
        bus.add_listener(Start, _other_start_handler)
    assert str(raised.value) == (
        "<class 'tests.core.test_registry.Start'> command has been registered twice"
    )
    message = raised.value.__notes__[0]
    assert "Command Start already has the handler" in message
    assert "tests.core.test_registry._start_handler" in message
    assert "tests.core.test_registry._other_start_handler" in message
    assert bus.handlers_of(Start) == [_start_handler]


def test_same_command_handler_twice_is_refused(bus: AsyncMessageBus) -> None:
    bus.add_listener(Start, _start_handler)

    with pytest.raises(
        ConfigurationError, match="Start'> command has been registered twice"
    ):
        bus.add_listener(Start, _start_handler)

    assert bus.handlers_of(Start) == [_start_handler]


def test_same_event_handler_twice_is_refused(bus: AsyncMessageBus) -> None:
    async def on_step(event: Step, transaction: Transaction) -> None: ...

    bus.add_listener(Step, on_step)

    with pytest.raises(
        ConfigurationError, match="registered twice, it would run twice"
    ):
        bus.add_listener(Step, on_step)

    assert bus.handlers_of(Step) == [on_step]


def test_scanning_a_module_twice_is_harmless(bus: AsyncMessageBus) -> None:
    bus.scan("tests.core.handlers_pkg")
    before = bus.registrations()

    bus.scan("tests.core.handlers_pkg")
    bus.scan("tests.core.handlers_pkg.commands", "tests.core.handlers_pkg.sub")

    assert bus.registrations() == before


def test_command_handler_of_a_module_imported_twice_is_one_handler(
    bus: AsyncMessageBus,
) -> None:
    copy = copy_of_module("tests.core.handlers_pkg.commands")
    assert copy.handle_pkg_command is not pkg_commands.handle_pkg_command
    bus.scan("tests.core.handlers_pkg.commands")

    with pytest.raises(ConfigurationError, match="registered twice"):
        bus.add_listener(PkgCommand, copy.handle_pkg_command)

    assert bus.handlers_of(PkgCommand) == [pkg_commands.handle_pkg_command]


def test_event_handler_of_a_module_imported_twice_is_registered_once(
    bus: AsyncMessageBus,
) -> None:
    copy = copy_of_module("tests.core.handlers_pkg.sub.events")
    bus.scan("tests.core.handlers_pkg.sub.events")

    with pytest.raises(ConfigurationError, match="registered twice"):
        bus.add_listener(PkgEvent, copy.on_pkg_event)

    assert bus.handlers_of(PkgEvent) == [
        pkg_events.on_pkg_event,
        pkg_events.audit_pkg_event,
    ]


def test_event_handlers_keep_their_registration_order(bus: AsyncMessageBus) -> None:
    async def third(event: Step, transaction: Transaction) -> None: ...
    async def first(event: Step, transaction: Transaction) -> None: ...
    async def second(event: Step, transaction: Transaction) -> None: ...

    bus.add_listener(Step, third)
    bus.add_listener(Step, first)
    bus.add_listener(Step, second)

    assert bus.handlers_of(Step) == [third, first, second]


def test_add_listener_refuses_a_non_message_type(bus: AsyncMessageBus) -> None:
    not_a_message: Any = int

    with pytest.raises(
        ConfigurationError,
        match=r"^Invalid usage of the listen decorator: type <class 'int'> should be "
        "a command or an event\n",
    ) as raised:
        bus.add_listener(not_a_message, _start_handler)
    assert "tests.core.test_registry._start_handler" in raised.value.__notes__[0]

    not_a_type: Any = "Start"
    with pytest.raises(ConfigurationError, match="type Start should be a command"):
        bus.add_listener(not_a_type, _start_handler)
    assert bus.commands_registry == {}
    assert bus.events_registry == {}


def test_add_listener_refuses_a_bare_message(bus: AsyncMessageBus) -> None:
    with pytest.raises(
        ConfigurationError, match=r"type <class '.*Bare'> should be a command or an"
    ):
        bus.add_listener(Bare, _start_handler)
    assert not bus.has_handler(Bare)


# remove_listener, has_handler, handlers_of ------------------------------------


def test_has_handler_and_handlers_of_without_registration(
    bus: AsyncMessageBus,
) -> None:
    assert not bus.has_handler(Start)
    assert not bus.has_handler(Step)
    assert bus.handlers_of(Start) == []
    assert bus.handlers_of(Step) == []


def test_remove_command_listener(bus: AsyncMessageBus) -> None:
    bus.add_listener(Start, _start_handler)
    assert bus.has_handler(Start)

    bus.remove_listener(Start, _start_handler)

    assert not bus.has_handler(Start)
    assert bus.handlers_of(Start) == []


def test_remove_command_listener_that_is_not_registered(bus: AsyncMessageBus) -> None:
    with pytest.raises(
        ConfigurationError, match="_start_handler is not registered for Start"
    ):
        bus.remove_listener(Start, _start_handler)


def test_remove_another_command_listener_is_an_error(bus: AsyncMessageBus) -> None:
    bus.add_listener(Start, _start_handler)

    with pytest.raises(
        ConfigurationError, match="_other_start_handler is not registered"
    ):
        bus.remove_listener(Start, _other_start_handler)
    assert bus.handlers_of(Start) == [_start_handler]


def test_remove_event_listeners(bus: AsyncMessageBus) -> None:
    async def first(event: Step, transaction: Transaction) -> None: ...
    async def second(event: Step, transaction: Transaction) -> None: ...

    bus.add_listener(Step, first)
    bus.add_listener(Step, second)

    bus.remove_listener(Step, first)
    assert bus.handlers_of(Step) == [second]
    assert bus.has_handler(Step)

    with pytest.raises(ConfigurationError, match="first is not registered for Step"):
        bus.remove_listener(Step, first)

    bus.remove_listener(Step, second)
    assert not bus.has_handler(Step)
    assert Step not in bus.events_registry


def test_remove_event_listener_never_registered(bus: AsyncMessageBus) -> None:
    async def handler(event: Other, transaction: Transaction) -> None: ...

    with pytest.raises(ConfigurationError, match="handler is not registered for Other"):
        bus.remove_listener(Other, handler)
    assert Other not in bus.events_registry


def test_remove_listener_of_a_module_imported_twice(bus: AsyncMessageBus) -> None:
    bus.scan("tests.core.handlers_pkg")
    commands_copy = copy_of_module("tests.core.handlers_pkg.commands")
    events_copy = copy_of_module("tests.core.handlers_pkg.sub.events")

    bus.remove_listener(PkgCommand, commands_copy.handle_pkg_command)
    bus.remove_listener(PkgEvent, events_copy.on_pkg_event)

    assert not bus.has_handler(PkgCommand)
    assert bus.handlers_of(PkgEvent) == [pkg_events.audit_pkg_event]


# handle ---------------------------------------------------------------------


async def test_handle_returns_the_command_handler_result(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    received: list[tuple[Start, Transaction]] = []

    async def on_start(command: Start, transaction: Transaction) -> dict[str, str]:
        received.append((command, transaction))
        return {"label": command.label}

    bus.add_listener(Start, on_start)
    command = Start(label="go")
    async with uow as transaction:
        result = await bus.handle(command, transaction)
        await transaction.commit()

    assert result == {"label": "go"}
    assert len(received) == 1
    assert received[0][0] is command
    assert received[0][1] is transaction
    assert uow.messagestore.messages == [command]


async def test_handle_scanned_handlers(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    bus.scan("tests.core.handlers_pkg")
    async with uow as transaction:
        result = await bus.handle(PkgCommand(), transaction)
        await transaction.rollback()
    assert result == "handled"


async def test_events_are_handled_breadth_first(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    calls: list[str] = []

    async def on_start(command: Start, transaction: Transaction) -> str:
        calls.append("start")
        raise_messages(transaction, Step(name="a"), Step(name="b"))
        return "started"

    async def on_step_1(event: Step, transaction: Transaction) -> None:
        calls.append(f"step-1 {event.name}")
        if event.name == "a":
            raise_messages(transaction, Step(name="a1"))

    async def on_step_2(event: Step, transaction: Transaction) -> None:
        calls.append(f"step-2 {event.name}")
        if event.name == "a":
            raise_messages(transaction, Step(name="a2"), Other())
        elif event.name == "b":
            raise_messages(transaction, Step(name="b1"))

    async def on_other(event: Other, transaction: Transaction) -> str:
        calls.append("other")
        return "ignored"

    bus.add_listener(Start, on_start)
    bus.add_listener(Step, on_step_1)
    bus.add_listener(Step, on_step_2)
    bus.add_listener(Other, on_other)

    async with uow as transaction:
        result = await bus.handle(Start(), transaction)
        await transaction.commit()

    assert result == "started"
    assert calls == [
        "start",
        "step-1 a",
        "step-2 a",
        "step-1 b",
        "step-2 b",
        "step-1 a1",
        "step-2 a1",
        "step-1 a2",
        "step-2 a2",
        "other",
        "step-1 b1",
        "step-2 b1",
    ]
    assert uow.messagestore.messages == [
        Start(),
        Step(name="a"),
        Step(name="b"),
        Step(name="a1"),
        Step(name="a2"),
        Other(),
        Step(name="b1"),
    ]


async def test_event_without_handler_is_stored(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    async def on_start(command: Start, transaction: Transaction) -> None:
        raise_messages(transaction, Other())

    bus.add_listener(Start, on_start)
    async with uow as transaction:
        assert await bus.handle(Start(), transaction) is None
        await transaction.commit()
    assert uow.messagestore.messages == [Start(), Other()]


async def test_command_raised_during_handling_is_handled_but_not_returned(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    async def on_start(command: Start, transaction: Transaction) -> str:
        raise_messages(transaction, Follow())
        return "from start"

    async def on_follow(command: Follow, transaction: Transaction) -> str:
        raise_messages(transaction, Step(name="after follow"))
        return "from follow"

    bus.add_listener(Start, on_start)
    bus.add_listener(Follow, on_follow)
    async with uow as transaction:
        result = await bus.handle(Start(), transaction)
        await transaction.commit()

    assert result == "from start"
    assert uow.messagestore.messages == [Start(), Follow(), Step(name="after follow")]


async def test_command_without_handler(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    async with uow as transaction:
        with pytest.raises(MissingHandlerError) as raised:
            await bus.handle(Unhandled(), transaction)
        await transaction.rollback()
    message = str(raised.value)
    assert "tests.core.test_registry.Unhandled" in message
    assert "@async_listen" in message
    assert "bus.scan(" in message
    assert isinstance(raised.value, ConfigurationError)
    assert uow.messagestore.messages == []


async def test_command_without_handler_raised_by_a_model(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    async def on_start(command: Start, transaction: Transaction) -> None:
        raise_messages(transaction, Unhandled())

    bus.add_listener(Start, on_start)
    async with uow as transaction:
        with pytest.raises(MissingHandlerError, match=r"test_registry\.Unhandled"):
            await bus.handle(Start(), transaction)
        await transaction.rollback()


async def test_handle_refuses_the_unit_of_work(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    bus.add_listener(Start, _start_handler)
    unit_of_work: Any = uow

    with pytest.raises(TypeError, match="takes the transaction, not the unit of work"):
        await bus.handle(Start(), unit_of_work)
    assert uow.messagestore.messages == []


async def test_handle_an_event_directly_returns_none(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    seen: list[Step] = []

    async def on_step(event: Step, transaction: Transaction) -> str:
        seen.append(event)
        return "not returned"

    bus.add_listener(Step, on_step)
    event = Step(name="direct")
    async with uow as transaction:
        result = await bus.handle(event, transaction)
        await transaction.commit()

    assert result is None
    assert seen == [event]
    assert uow.messagestore.messages == [event]


async def test_handler_exception_propagates(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    async def on_start(command: Start, transaction: Transaction) -> None:
        raise RuntimeError("domain failure")

    bus.add_listener(Start, on_start)
    with pytest.raises(RuntimeError, match="domain failure"):
        async with uow as transaction:
            await bus.handle(Start(), transaction)
    assert uow.log == ["rollback"]
    assert transaction.status is TransactionStatus.rolledback


# dependencies ---------------------------------------------------------------


async def test_bus_dependencies_are_created_once_per_handle(
    uow: FakeUnitOfWork,
) -> None:
    bus = AsyncMessageBus(clock=Clock, unused=Unused)
    given: list[tuple[str, Clock]] = []

    async def on_start(command: Start, transaction: Transaction, clock: Clock) -> None:
        given.append(("start", clock))
        raise_messages(transaction, Step(name="s"))

    async def on_step(event: Step, transaction: Transaction, clock: Clock) -> None:
        given.append(("step", clock))

    async def on_step_without_dependency(event: Step, transaction: Transaction) -> None:
        given.append(("plain", Clock.created[-1]))

    bus.add_listener(Start, on_start)
    bus.add_listener(Step, on_step)
    bus.add_listener(Step, on_step_without_dependency)

    async with uow as transaction:
        await bus.handle(Start(), transaction)
        await bus.handle(Start(), transaction)
        await transaction.commit()

    assert len(Clock.created) == 2
    first, second = Clock.created
    assert first is not second
    assert given == [
        ("start", first),
        ("step", first),
        ("plain", first),
        ("start", second),
        ("step", second),
        ("plain", second),
    ]
    # Nobody asked for it: never instantiated.
    assert Unused.created == []


async def test_dependency_created_only_when_asked_for(uow: FakeUnitOfWork) -> None:
    bus = AsyncMessageBus(clock=Clock)
    bus.add_listener(Start, _start_handler)

    async with uow as transaction:
        await bus.handle(Start(), transaction)
        await transaction.commit()
    assert Clock.created == []


async def test_transient_dependencies(uow: FakeUnitOfWork) -> None:
    bus = AsyncMessageBus(clock=Clock)
    given: list[tuple[Clock, str]] = []

    async def on_start(
        command: Start, transaction: Transaction, clock: Clock, user: str
    ) -> None:
        given.append((clock, user))

    bus.add_listener(Start, on_start)
    my_clock = Clock.__new__(Clock)

    async with uow as transaction:
        await bus.handle(Start(), transaction, clock=my_clock, user="alice")
        await bus.handle(Start(), transaction, user="bob")
        await transaction.commit()

    # A transient dependency wins over the bus's factory for that call only.
    assert given == [(my_clock, "alice"), (Clock.created[0], "bob")]
    assert len(Clock.created) == 1


async def test_optional_dependencies(uow: FakeUnitOfWork) -> None:
    given: list[str] = []

    async def on_start(
        command: Start, transaction: Transaction, greeting: str = "default"
    ) -> None:
        given.append(greeting)

    bus = AsyncMessageBus()
    bus.add_listener(Start, on_start)
    bus_with_factory = AsyncMessageBus(greeting=lambda: "from factory")
    bus_with_factory.add_listener(Start, on_start)

    async with uow as transaction:
        await bus.handle(Start(), transaction)
        await bus.handle(Start(), transaction, greeting="transient")
        await bus_with_factory.handle(Start(), transaction)
        await transaction.commit()

    assert given == ["default", "transient", "from factory"]


async def test_missing_required_dependency(uow: FakeUnitOfWork) -> None:
    bus = AsyncMessageBus(clock=Clock)
    called: list[str] = []

    async def on_start(
        command: Start, transaction: Transaction, clock: Clock, mailer: object
    ) -> None:
        called.append("on_start")

    bus.add_listener(Start, on_start)
    async with uow as transaction:
        with pytest.raises(MissingDependencyError) as raised:
            await bus.handle(Start(), transaction)
        await transaction.rollback()

    assert str(raised.value) == "Missing messagebus dependency 'mailer'"
    [message] = raised.value.__notes__
    assert "test_missing_required_dependency.<locals>.on_start" in message
    assert "'mailer'" in message
    assert "AsyncMessageBus(mailer=...)" in message
    assert "handle(..., mailer=...)" in message
    assert isinstance(raised.value, ConfigurationError)
    assert called == []


async def test_dependency_hooks_on_commit(uow: FakeUnitOfWork) -> None:
    log: list[str] = []

    class Notifier(RecordingDependency):
        def __init__(self) -> None:
            super().__init__(log)

    class Plain:
        """A dependency without hooks."""

    async def on_start(
        command: Start,
        transaction: Transaction,
        notifier: Notifier,
        plain: Plain,
        audit: RecordingDependency,
        other: object,
    ) -> None:
        log.append("handled")

    bus = AsyncMessageBus(notifier=Notifier, plain=Plain)
    bus.add_listener(Start, on_start)
    audit = RecordingDependency(log)

    async with uow as transaction:
        await bus.handle(Start(), transaction, audit=audit, other=object())
        assert log == ["handled"]
        await transaction.commit()

    # The transient one is registered first, the bus's when first used.
    assert log == ["handled", "after_commit", "after_commit"]


async def test_dependency_hooks_on_rollback(uow: FakeUnitOfWork) -> None:
    log: list[str] = []

    async def on_start(
        command: Start, transaction: Transaction, notifier: RecordingDependency
    ) -> None:
        log.append("handled")

    bus = AsyncMessageBus(notifier=lambda: RecordingDependency(log))
    bus.add_listener(Start, on_start)

    async with uow as transaction:
        await bus.handle(Start(), transaction, plain=object())
        await transaction.rollback()

    assert log == ["handled", "after_rollback"]


async def test_unused_transient_dependencies_still_get_hooks(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    log: list[str] = []
    bus.add_listener(Start, _start_handler)

    async with uow as transaction:
        await bus.handle(Start(), transaction, audit=RecordingDependency(log))
        await transaction.commit()

    assert log == ["after_commit"]


def _make_start_handler(reply: str) -> Any:
    async def handler(command: Start, transaction: Transaction) -> str:
        return reply

    return handler


def test_handlers_made_by_one_factory_are_different_handlers(
    bus: AsyncMessageBus,
) -> None:
    first, second = _make_start_handler("a"), _make_start_handler("b")
    bus.add_listener(Start, first)
    with pytest.raises(ConfigurationError, match="already has the handler"):
        bus.add_listener(Start, second)
    assert bus.handlers_of(Start) == [first]


async def test_var_args_and_kwargs_are_not_dependencies(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    async def handler(
        command: Start, transaction: Transaction, *args: Any, **kwargs: Any
    ) -> tuple[Any, ...]:
        return args, kwargs

    bus.add_listener(Start, handler)
    async with uow as transaction:
        assert await bus.handle(Start(), transaction) == ((), {})
        await transaction.commit()


async def test_a_dependency_given_to_two_handle_calls_hooks_once(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    bus.add_listener(Start, _start_handler)
    dependency = RecordingDependency()
    async with uow as transaction:
        await bus.handle(Start(), transaction, recorder=dependency)
        await bus.handle(Start(), transaction, recorder=dependency)
        await transaction.commit()
    assert dependency.log == ["after_commit"]


class _DjangoTermsBus(AsyncMessageBus):
    """A framework's bus gives hints in its own terms."""

    def missing_handler_hint(self, msg_type: type[Message[Any]]) -> str:
        return f"add a handler of {msg_type.__name__} to an installed app"

    def missing_dependency_hint(self, name: str) -> str:
        return f"list {name!r} in the settings"


async def test_error_hints_are_overridable(uow: FakeUnitOfWork) -> None:
    bus = _DjangoTermsBus()

    async def on_start(
        command: Start, transaction: Transaction, mailer: object
    ) -> None:
        """Needs a mailer nobody gives."""

    async with uow as transaction:
        with pytest.raises(MissingHandlerError) as no_handler:
            await bus.handle(Unhandled(), transaction)
        bus.add_listener(Start, on_start)
        with pytest.raises(MissingDependencyError) as no_dependency:
            await bus.handle(Start(), transaction)
        await transaction.rollback()

    assert str(no_handler.value).endswith(
        ": add a handler of Unhandled to an installed app"
    )
    assert "bus.scan" not in str(no_handler.value)
    assert no_dependency.value.__notes__[0].endswith(
        "needs the dependency 'mailer': list 'mailer' in the settings"
    )


async def test_handle_refuses_what_is_not_a_message(
    bus: AsyncMessageBus, uow: FakeUnitOfWork
) -> None:
    class NotAMessage:
        def __str__(self) -> str:
            return "<not a message>"

    bus.add_listener(Start, _start_handler)
    async with uow as transaction:
        with pytest.raises(
            RuntimeError, match=r"^<not a message> was not an Event or Command$"
        ):
            await bus.handle(NotAMessage(), transaction)  # type: ignore[arg-type]
        await transaction.rollback()
    assert uow.messagestore.messages == []


def test_hooks_list_their_dependencies_as_messagebus_does() -> None:
    bus = AsyncMessageBus()

    async def on_start(
        command: Start, transaction: Transaction, clock: Clock, mailer: object = None
    ) -> None: ...

    bus.add_listener(Start, on_start)
    hook = bus.commands_registry[Start]
    assert hook.callback is on_start
    assert hook.dependencies == ["clock"]
    assert hook.optional_dependencies == ["mailer"]
