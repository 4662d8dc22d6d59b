"""Handlers registry: ``@async_listen`` and :class:`AsyncMessageBus`."""

from __future__ import annotations

import importlib
import inspect
from asyncio import events as asyncio_events
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

import venusian
from asgiref.sync import sync_to_async

from .messages import GenericCommand, GenericEvent, Message
from .tracing import current_message, stamp_cause, stamp_root
from .unit_of_work import AsyncAbstractUnitOfWork, AsyncUnitOfWorkTransaction

__all__ = [
    "AsyncMessageBus",
    "ConfigurationError",
    "MissingDependencyError",
    "MissingHandlerError",
    "Registration",
    "async_listen",
    "run_without_loop",
    "sync_listen",
]

VENUSIAN_CATEGORY = "messagebus_django"

AsyncMessageHandler = Callable[..., Awaitable[Any]]
MessageHandler = Callable[..., Any]
"""An ``async def`` handler or a plain ``def`` one (:func:`sync_listen`)."""
THandler = TypeVar("THandler", bound=AsyncMessageHandler)
TSyncHandler = TypeVar("TSyncHandler", bound=Callable[..., Any])
TResult = TypeVar("TResult")


class ConfigurationError(RuntimeError):
    """The handlers or the bus are set up in a way that cannot work."""


class MissingHandlerError(ConfigurationError):
    """A command was handled, but no handler is registered for its type."""


class MissingDependencyError(ConfigurationError):
    """A handler asks for a dependency that neither the bus nor ``handle`` gives."""


def async_listen(wrapped: THandler) -> THandler:
    """Mark an ``async def`` as the handler of the message type of its first parameter.

    The mark takes effect when the handler's module is scanned by
    :meth:`AsyncMessageBus.scan`. A command has one handler, an event any number.
    """
    if not inspect.iscoroutinefunction(cast(Any, wrapped)):
        raise ConfigurationError(
            f"@async_listen needs an 'async def' function, got {_describe(wrapped)}"
        )

    _attach(wrapped)
    return wrapped


def sync_listen(wrapped: TSyncHandler) -> TSyncHandler:
    """Mark a plain ``def`` as the handler of the message type of its first parameter.

    Sync handlers use the sync ORM. On a bus whose handlers are all sync,
    :func:`~messagebus_django.dispatch` runs a command on the caller's thread
    with no event loop at all; next to async handlers, a sync handler runs
    through ``sync_to_async`` (thread-sensitive), on the thread that holds the
    transaction.
    """
    if _is_async(wrapped) or not callable(wrapped):
        raise ConfigurationError(
            f"@sync_listen needs a plain 'def' function, got {_describe(wrapped)}"
        )
    _attach(wrapped)
    return wrapped


def _attach(wrapped: Callable[..., Any]) -> None:
    def callback(scanner: venusian.Scanner, name: str, ob: Any) -> None:
        found = getattr(scanner, "messagebus", None)
        if isinstance(found, _ScanResults):
            found.append(wrapped)

    # depth=2: the module that applied the decorator (past _attach and it).
    venusian.attach(wrapped, callback, category=VENUSIAN_CATEGORY, depth=2)


def listened_type(handler: AsyncMessageHandler) -> type[Message[Any]]:
    """The message type a handler listens to: its first parameter's annotation."""
    try:
        signature = inspect.signature(handler, eval_str=True)
    except NameError as exc:
        raise ConfigurationError(
            f"Cannot resolve the annotations of handler {_describe(handler)}: {exc}. "
            "The message type must be importable at run time "
            "(not only under TYPE_CHECKING)."
        ) from exc
    parameters = list(signature.parameters.values())
    annotation = parameters[0].annotation if parameters else inspect.Parameter.empty
    if not (
        isinstance(annotation, type)
        and issubclass(annotation, GenericCommand | GenericEvent)
    ):
        raise ConfigurationError(
            f"Handler {_describe(handler)} must annotate its first parameter with a "
            f"command or event class, got {annotation!r}"
        )
    return annotation


def _describe(handler: Callable[..., Any]) -> str:
    module = getattr(handler, "__module__", "?")
    name = getattr(handler, "__qualname__", repr(handler))
    return f"{module}.{name}"


def _same_handler(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    # A module imported twice (start-up run twice) gives a new function
    # object for the same handler: it is the same registration. Functions made
    # by a factory share a qualname but are different handlers.
    if a is b:
        return True
    qualname = getattr(a, "__qualname__", None)
    return (
        qualname is not None
        and "<locals>" not in qualname
        and qualname == getattr(b, "__qualname__", None)
        and getattr(a, "__module__", None) == getattr(b, "__module__", None)
    )


class _ScanResults(list[AsyncMessageHandler]):
    """The handlers one scan found, to be registered in definition order."""

    def in_definition_order(self) -> list[AsyncMessageHandler]:
        # venusian visits a module's members by name; handlers run in the
        # order they are written, which is what their reader expects.
        def position(handler: AsyncMessageHandler) -> tuple[str, int]:
            code = getattr(handler, "__code__", None)
            return (handler.__module__, code.co_firstlineno if code else 0)

        return sorted(dict.fromkeys(self), key=position)


class _Hook:
    """A registered handler and the dependencies it asks for by name."""

    __slots__ = ("callback", "is_async", "optional", "required")

    def __init__(self, callback: MessageHandler) -> None:
        self.callback = callback
        self.is_async = _is_async(callback)
        # *args / **kwargs name no dependency.
        parameters = [
            p
            for p in list(inspect.signature(callback).parameters.values())[2:]
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        self.required = tuple(
            p.name for p in parameters if p.default is inspect.Parameter.empty
        )
        self.optional = tuple(
            p.name for p in parameters if p.default is not inspect.Parameter.empty
        )

    async def __call__(
        self,
        message: Message[Any],
        transaction: AsyncUnitOfWorkTransaction[Any],
        resolve: _Dependencies,
    ) -> Any:
        if not (self.required or self.optional):
            if self.is_async:
                return await self.callback(message, transaction)
            return await _call_sync(self.callback, message, transaction)
        kwargs: dict[str, Any] = {}
        for name in self.required:
            if not resolve.has(name):
                raise MissingDependencyError(
                    f"Handler {_describe(self.callback)} needs the dependency "
                    f"{name!r}: give it to AsyncMessageBus({name}=...) or to "
                    f"handle(..., {name}=...)"
                )
            kwargs[name] = resolve.get(name)
        for name in self.optional:
            if resolve.has(name):
                kwargs[name] = resolve.get(name)
        if self.is_async:
            return await self.callback(message, transaction, **kwargs)
        return await _call_sync(self.callback, message, transaction, **kwargs)


async def _call_sync(callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a sync handler from :meth:`AsyncMessageBus.handle`.

    Driven without an event loop (see :func:`run_without_loop`), it is called
    directly; under a running loop, through ``sync_to_async`` so that it runs
    where the loop's sync work goes (the thread holding the transaction).
    """
    if asyncio_events._get_running_loop() is None:
        return callback(*args, **kwargs)
    return await sync_to_async(callback, thread_sensitive=True)(*args, **kwargs)


def run_without_loop(awaitable: Coroutine[Any, Any, TResult]) -> TResult:
    """Run a coroutine that never waits, synchronously, with no event loop.

    This is how a bus whose handlers are all sync handles a command with no
    loop and no thread hop. A coroutine that does wait (on I/O, a sleep, a
    future) is closed and a ``RuntimeError`` is raised.
    """
    try:
        awaitable.send(None)
    except StopIteration as done:
        return cast(TResult, done.value)
    awaitable.close()
    raise RuntimeError(
        "A coroutine waited while the bus ran without an event loop (all handlers "
        "are sync): dependency hooks and message stores must not await I/O there"
    )


@dataclass(frozen=True)
class Registration:
    """One handler registered for one message type, as the bus reports it.

    See :meth:`AsyncMessageBus.registrations`.
    """

    message_type: type[Message[Any]]
    """The command or event class the handler listens to."""
    kind: Literal["command", "event"]
    """Whether ``message_type`` is a command or an event."""
    handler: AsyncMessageHandler
    """The registered handler itself."""
    qualified_name: str
    """Where the handler is defined: ``"module:qualname"``."""
    is_async: bool
    """Whether calling the handler gives an awaitable, as the bus expects."""
    required: tuple[str, ...]
    """Names of the dependencies the handler needs, in parameter order."""
    optional: tuple[str, ...]
    """Names of the dependencies it takes when given (a parameter with a default)."""

    @property
    def dependencies(self) -> tuple[str, ...]:
        """Every dependency name, required first; optional ones end with ``?``."""
        return (*self.required, *(f"{name}?" for name in self.optional))


def _qualified_name(handler: Callable[..., Any]) -> str:
    module = getattr(handler, "__module__", None) or "?"
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    return f"{module}:{name}"


def _is_async(handler: Callable[..., Any]) -> bool:
    # An object whose __call__ is an ``async def`` is awaited like a function.
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        type(handler).__call__
    )


def _registration(
    msg_type: type[Message[Any]], kind: Literal["command", "event"], hook: _Hook
) -> Registration:
    return Registration(
        message_type=msg_type,
        kind=kind,
        handler=hook.callback,
        qualified_name=_qualified_name(hook.callback),
        is_async=_is_async(hook.callback),
        required=hook.required,
        optional=hook.optional,
    )


class _Dependencies:
    """The dependencies of one ``handle`` call, instantiated on first use."""

    __slots__ = ("factories", "instances", "transaction")

    def __init__(
        self,
        factories: Mapping[str, Callable[[], Any]],
        transient: dict[str, Any],
        transaction: AsyncUnitOfWorkTransaction[Any],
    ) -> None:
        self.factories = factories
        self.instances = transient
        self.transaction = transaction
        for dependency in transient.values():
            transaction.add_listener(dependency)

    def has(self, name: str) -> bool:
        return name in self.instances or name in self.factories

    def get(self, name: str) -> Any:
        try:
            return self.instances[name]
        except KeyError:
            instance = self.factories[name]()
            self.instances[name] = instance
            self.transaction.add_listener(instance)
            return instance


class AsyncMessageBus:
    """Routes each command to its handler and each event to its handlers.

    Keyword arguments are dependency factories (usually classes), called once
    per :meth:`handle` when a handler asks for a parameter of that name.
    """

    def __init__(self, **dependencies: Callable[[], Any]) -> None:
        self.dependencies: dict[str, Callable[[], Any]] = dict(dependencies)
        self.commands_registry: dict[type[Message[Any]], _Hook] = {}
        self.events_registry: dict[type[Message[Any]], list[_Hook]] = {}
        self._all_sync: bool | None = None

    def add_listener(
        self, msg_type: type[Message[Any]], callback: MessageHandler
    ) -> None:
        """Register ``callback`` for ``msg_type``; registering it again is a no-op."""
        self._all_sync = None
        if not (isinstance(msg_type, type) and issubclass(msg_type, Message)):
            raise ConfigurationError(
                f"{msg_type!r} is not a command or event class "
                f"(handler {_describe(callback)})"
            )
        if issubclass(msg_type, GenericCommand):
            current = self.commands_registry.get(msg_type)
            if current is not None and not _same_handler(current.callback, callback):
                raise ConfigurationError(
                    f"Command {msg_type.__qualname__} already has the handler "
                    f"{_describe(current.callback)}; a command has exactly one "
                    f"handler, so {_describe(callback)} cannot be added"
                )
            self.commands_registry[msg_type] = _Hook(callback)
        elif issubclass(msg_type, GenericEvent):
            hooks = self.events_registry.setdefault(msg_type, [])
            for index, hook in enumerate(hooks):
                if _same_handler(hook.callback, callback):
                    hooks[index] = _Hook(callback)
                    return
            hooks.append(_Hook(callback))
        else:
            raise ConfigurationError(
                f"{msg_type.__qualname__} is neither a command nor an event "
                f"(handler {_describe(callback)})"
            )

    def remove_listener(
        self, msg_type: type[Message[Any]], callback: MessageHandler
    ) -> None:
        """Unregister ``callback`` for ``msg_type``."""
        self._all_sync = None
        if issubclass(msg_type, GenericCommand):
            current = self.commands_registry.get(msg_type)
            if current is not None and _same_handler(current.callback, callback):
                del self.commands_registry[msg_type]
                return
        else:
            hooks = self.events_registry.get(msg_type, [])
            for hook in hooks:
                if _same_handler(hook.callback, callback):
                    hooks.remove(hook)
                    if not hooks:
                        del self.events_registry[msg_type]
                    return
        raise ConfigurationError(
            f"{_describe(callback)} is not registered for {msg_type.__qualname__}"
        )

    @property
    def all_sync(self) -> bool:
        """Whether every registered handler is a plain ``def`` (and there is one)."""
        if self._all_sync is None:
            hooks = [*self.commands_registry.values()]
            for event_hooks in self.events_registry.values():
                hooks.extend(event_hooks)
            self._all_sync = bool(hooks) and not any(hook.is_async for hook in hooks)
        return self._all_sync

    def has_handler(self, msg_type: type[Message[Any]]) -> bool:
        """Whether a handler is registered for ``msg_type``."""
        return msg_type in self.commands_registry or msg_type in self.events_registry

    def handlers_of(self, msg_type: type[Message[Any]]) -> list[MessageHandler]:
        """The handlers registered for ``msg_type``, in the order they run."""
        if msg_type in self.commands_registry:
            return [self.commands_registry[msg_type].callback]
        return [hook.callback for hook in self.events_registry.get(msg_type, [])]

    def registrations(self) -> list[Registration]:
        """Every registered handler and the message type it listens to.

        Commands first, then events, each in registration order; the handlers
        of one event in the order they run. A snapshot: registering more
        handlers later does not change the returned list.
        """
        found = [
            _registration(msg_type, "command", hook)
            for msg_type, hook in self.commands_registry.items()
        ]
        found.extend(
            _registration(msg_type, "event", hook)
            for msg_type, hooks in self.events_registry.items()
            for hook in hooks
        )
        return found

    def scan(self, *mods: str) -> None:
        """Register the ``@async_listen`` handlers of modules, packages recursively.

        Names are absolute dotted names. Handlers of one event run in the order
        their module defines them (modules by name). An ``ImportError`` raised
        inside a scanned module propagates.
        """
        found = _ScanResults()
        scanner = venusian.Scanner(messagebus=found)
        for modname in mods:
            if modname.startswith("."):
                raise ValueError(
                    f"scan() takes absolute module names, got the relative {modname!r}"
                )
            module = importlib.import_module(modname)
            scanner.scan(module, categories=[VENUSIAN_CATEGORY])
        for handler in found.in_definition_order():
            self.add_listener(listened_type(handler), handler)

    async def handle(
        self,
        message: Message[Any],
        transaction: AsyncUnitOfWorkTransaction[Any],
        **transient_dependencies: Any,
    ) -> Any:
        """Handle a command and, breadth-first, the events it causes.

        Returns the command handler's result. Every handled message is added
        to the unit of work's message store. Keyword arguments are dependency
        instances for this call only.
        """
        # A plain class check first: the ABC check is slower, and only
        # needed to explain a mistake.
        given: object = transaction  # callers may pass anything
        if not isinstance(given, AsyncUnitOfWorkTransaction) and isinstance(
            given, AsyncAbstractUnitOfWork
        ):
            raise TypeError(
                "handle() takes the transaction, not the unit of work: "
                "'async with uow as transaction: await bus.handle(cmd, transaction)'"
            )
        uow = transaction.uow
        messagestore = uow.messagestore
        resolve = _Dependencies(self.dependencies, transient_dependencies, transaction)
        result: Any = None
        stamp_root(message)
        queue: deque[Message[Any]] = deque((message,))
        first = True
        while queue:
            current = queue.popleft()
            msg_type = type(current)
            token = current_message.set(current)
            try:
                command_hook = self.commands_registry.get(msg_type)
                if command_hook is not None:
                    returned = await command_hook(current, transaction, resolve)
                    if first:
                        result = returned
                    _enqueue(queue, uow.collect_new_events(), current)
                elif isinstance(current, GenericCommand):
                    raise MissingHandlerError(
                        f"No handler is registered for the command "
                        f"{msg_type.__module__}.{msg_type.__qualname__}: decorate a "
                        f"handler whose first parameter is annotated with it with "
                        f"@async_listen (or @sync_listen), and scan its module "
                        f"(bus.scan(...))"
                    )
                else:
                    for hook in self.events_registry.get(msg_type, ()):
                        await hook(current, transaction, resolve)
                        _enqueue(queue, uow.collect_new_events(), current)
                await messagestore.add(current)
            finally:
                current_message.reset(token)
            first = False
        return result


def _enqueue(
    queue: deque[Message[Any]], raised: Iterator[Message[Any]], cause: Message[Any]
) -> None:
    for message in raised:
        stamp_cause(message, cause)
        queue.append(message)
