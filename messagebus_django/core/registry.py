"""Handlers registries: ``@async_listen`` / :class:`AsyncMessageBus` and
``@sync_listen`` / :class:`SyncMessageBus`.

``AsyncMessageBus.scan`` registers both kinds of handlers (a plain ``def`` runs
through ``sync_to_async``, or directly when no event loop runs);
``SyncMessageBus.scan`` registers the ``@sync_listen`` ones only, and runs with
no event loop at all.
"""

from __future__ import annotations

import importlib
import inspect
from asyncio import events as asyncio_events
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, cast

import venusian
from asgiref.sync import sync_to_async

from .messages import GenericCommand, GenericEvent, Message
from .observability import SinkholeMetricsStore
from .tracing import current_message, stamp_cause, stamp_root
from .unit_of_work import (
    AsyncAbstractUnitOfWork,
    AsyncUnitOfWorkTransaction,
    SyncAbstractUnitOfWork,
    SyncUnitOfWorkTransaction,
    TAsyncUow,
    TSyncUow,
    run_without_loop,
)

__all__ = [
    "AsyncMessageBus",
    "ConfigurationError",
    "MissingDependencyError",
    "MissingHandlerError",
    "Registration",
    "SyncMessageBus",
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

    _attach(wrapped, is_async=True)
    return wrapped


def sync_listen(wrapped: TSyncHandler) -> TSyncHandler:
    """Mark a plain ``def`` as the handler of the message type of its first parameter.

    :meth:`SyncMessageBus.scan` registers it, as in ``messagebus``; so does
    :meth:`AsyncMessageBus.scan`, where it runs through ``sync_to_async``
    (thread-sensitive, on the thread that holds the transaction), or directly
    when the bus runs with no event loop (every handler sync: see
    :func:`~messagebus_django.dispatch`).
    """
    if _is_async(wrapped) or not callable(wrapped):
        raise ConfigurationError(
            f"@sync_listen needs a plain 'def' function, got {_describe(wrapped)}"
        )
    _attach(wrapped, is_async=False)
    return wrapped


def _attach(wrapped: Callable[..., Any], *, is_async: bool) -> None:
    def callback(scanner: venusian.Scanner, name: str, ob: Any) -> None:
        found = getattr(scanner, "messagebus", None)
        if isinstance(found, _ScanResults) and (found.take_async or not is_async):
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
    if not parameters:
        raise ConfigurationError(
            f"Handler {_describe(handler)} takes no parameter: its first parameter "
            "must be the message, annotated with its command or event class"
        )
    first = parameters[0]
    annotation = first.annotation
    if annotation is inspect.Parameter.empty:
        raise ConfigurationError(
            f"Handler {_describe(handler)} has no annotation on its first parameter "
            f"{first.name!r}: annotate it with the command or event class it "
            f"handles ({first.name}: RegisterBook)"
        )
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

    def __init__(self, *, take_async: bool) -> None:
        super().__init__()
        self.take_async = take_async

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

    @property
    def dependencies(self) -> list[str]:
        """The names of the dependencies the handler needs (``messagebus``'s name)."""
        return list(self.required)

    @property
    def optional_dependencies(self) -> list[str]:
        """The names of those it takes when given (``messagebus``'s name)."""
        return list(self.optional)

    def arguments(self, resolve: _Dependencies, bus: _MessageBus) -> dict[str, Any]:
        """The dependencies to pass, by name; a missing required one raises."""
        kwargs: dict[str, Any] = {}
        for name in self.required:
            if not resolve.has(name):
                error = MissingDependencyError(
                    f"Missing messagebus dependency {name!r}"
                )
                error.add_note(
                    f"Handler {_describe(self.callback)} needs the dependency "
                    f"{name!r}: {bus.missing_dependency_hint(name)}"
                )
                raise error
            kwargs[name] = resolve.get(name)
        for name in self.optional:
            if resolve.has(name):
                kwargs[name] = resolve.get(name)
        return kwargs

    async def __call__(
        self,
        message: Message[Any],
        transaction: AsyncUnitOfWorkTransaction[Any],
        resolve: _Dependencies,
        bus: _MessageBus,
    ) -> Any:
        if not (self.required or self.optional):
            if self.is_async:
                return await self.callback(message, transaction)
            return await _call_sync(self.callback, message, transaction)
        kwargs = self.arguments(resolve, bus)
        if self.is_async:
            return await self.callback(message, transaction, **kwargs)
        return await _call_sync(self.callback, message, transaction, **kwargs)

    def call_sync(
        self,
        message: Message[Any],
        transaction: SyncUnitOfWorkTransaction[Any],
        resolve: _Dependencies,
        bus: _MessageBus,
    ) -> Any:
        if not (self.required or self.optional):
            return self.callback(message, transaction)
        return self.callback(message, transaction, **self.arguments(resolve, bus))


async def _call_sync(callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a sync handler from :meth:`AsyncMessageBus.handle`.

    Driven without an event loop (see :func:`run_without_loop`), it is called
    directly; under a running loop, through ``sync_to_async`` so that it runs
    where the loop's sync work goes (the thread holding the transaction).
    """
    if asyncio_events._get_running_loop() is None:
        return callback(*args, **kwargs)
    return await sync_to_async(callback, thread_sensitive=True)(*args, **kwargs)


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
        transaction: AsyncUnitOfWorkTransaction[Any] | SyncUnitOfWorkTransaction[Any],
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


def _is_message_class(msg_type: object) -> bool:
    return isinstance(msg_type, type) and issubclass(
        msg_type, GenericCommand | GenericEvent
    )


def _not_a_message_class(msg_type: object, callback: Callable[..., Any]) -> None:
    error = ConfigurationError(
        f"Invalid usage of the listen decorator: type {msg_type} "
        "should be a command or an event"
    )
    error.add_note(f"Handler {_describe(callback)} is registered for a non-message.")
    raise error


class _MessageBus:
    """The registry the async and sync buses share."""

    _takes_async = True

    def __init__(self, **dependencies: Callable[[], Any]) -> None:
        self.dependencies: dict[str, Callable[[], Any]] = dict(dependencies)
        self.commands_registry: dict[type[Message[Any]], _Hook] = {}
        self.events_registry: dict[type[Message[Any]], list[_Hook]] = {}
        self._all_sync: bool | None = None
        self._sync_view: SyncMessageBus[Any] | None = None

    def missing_handler_hint(self, msg_type: type[Message[Any]]) -> str:
        """How to fix a :class:`MissingHandlerError`; a framework's bus says it its way."""
        decorator = (
            "@async_listen (or @sync_listen)" if self._takes_async else "@sync_listen"
        )
        return (
            f"decorate a handler whose first parameter is annotated with it with "
            f"{decorator}, and scan its module (bus.scan(...))"
        )

    def missing_dependency_hint(self, name: str) -> str:
        """How to fix a :class:`MissingDependencyError`; overridable likewise."""
        return (
            f"give it to {type(self).__name__}({name}=...) or to "
            f"handle(..., {name}=...)"
        )

    def add_listener(
        self, msg_type: type[Message[Any]], callback: MessageHandler
    ) -> None:
        """Register ``callback`` for ``msg_type``.

        A command has one handler: a second one, or the same one again, is a
        :class:`ConfigurationError`; so is the same handler twice for an event.
        """
        if not _is_message_class(msg_type):
            _not_a_message_class(msg_type, callback)
        if not self._takes_async and _is_async(callback):
            raise ConfigurationError(
                f"SyncMessageBus takes plain 'def' handlers, got the coroutine "
                f"function {_describe(callback)}: register it on an AsyncMessageBus"
            )
        self._all_sync = None
        if issubclass(msg_type, GenericCommand):
            current = self.commands_registry.get(msg_type)
            if current is not None:
                error = ConfigurationError(
                    f"{msg_type} command has been registered twice"
                )
                error.add_note(
                    f"Command {msg_type.__qualname__} already has the handler "
                    f"{_describe(current.callback)}; a command has exactly one "
                    f"handler, so {_describe(callback)} cannot be added"
                )
                raise error
            self.commands_registry[msg_type] = _Hook(callback)
            return
        hooks = self.events_registry.setdefault(msg_type, [])
        if any(_same_handler(hook.callback, callback) for hook in hooks):
            raise ConfigurationError(
                f"{msg_type} event has the handler {_describe(callback)} already: "
                "registered twice, it would run twice"
            )
        hooks.append(_Hook(callback))

    def _is_registered(
        self, msg_type: type[Message[Any]], callback: MessageHandler
    ) -> bool:
        hooks: list[_Hook] = []
        if msg_type in self.commands_registry:
            hooks = [self.commands_registry[msg_type]]
        else:
            hooks = self.events_registry.get(msg_type, [])
        return any(_same_handler(hook.callback, callback) for hook in hooks)

    def remove_listener(
        self, msg_type: type[Message[Any]], callback: MessageHandler
    ) -> None:
        """Unregister ``callback`` for ``msg_type``."""
        if not _is_message_class(msg_type):
            _not_a_message_class(msg_type, callback)
        self._all_sync = None
        if issubclass(msg_type, GenericCommand):
            current = self.commands_registry.get(msg_type)
            if current is not None and _same_handler(current.callback, callback):
                del self.commands_registry[msg_type]
                return
            kind = "command"
        else:
            hooks = self.events_registry.get(msg_type, [])
            for hook in hooks:
                if _same_handler(hook.callback, callback):
                    hooks.remove(hook)
                    if not hooks:
                        del self.events_registry[msg_type]
                    return
            kind = "event"
        error = ConfigurationError(f"{msg_type} {kind} has not been registered")
        error.add_note(
            f"{_describe(callback)} is not registered for {msg_type.__qualname__}"
        )
        raise error

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

    def scan(self, *mods: str, stack_depth: int = 1) -> None:
        """Register the handlers of modules, packages recursively.

        :class:`AsyncMessageBus` takes ``@async_listen`` and ``@sync_listen``
        handlers, :class:`SyncMessageBus` the ``@sync_listen`` ones. Names are
        absolute dotted names. Handlers of one event run in the order their
        module defines them (modules by name). Scanning a module again, or a
        handler already added, changes nothing. An ``ImportError`` raised
        inside a scanned module propagates. ``stack_depth`` is accepted for
        ``messagebus``'s callers and unused: names are absolute here.
        """
        del stack_depth
        found = _ScanResults(take_async=self._takes_async)
        scanner = venusian.Scanner(messagebus=found)
        for modname in mods:
            if modname.startswith("."):
                error = ValueError(
                    f"scan error: relative package unsupported for {modname}"
                )
                error.add_note("scan() takes absolute dotted module names.")
                raise error
            module = importlib.import_module(modname)
            scanner.scan(module, categories=[VENUSIAN_CATEGORY])
        for handler in found.in_definition_order():
            msg_type = listened_type(handler)
            if not self._is_registered(msg_type, handler):
                self.add_listener(msg_type, handler)

    def _check_message(self, message: object) -> None:
        if not isinstance(message, GenericCommand | GenericEvent):
            raise RuntimeError(f"{message} was not an Event or Command")

    def _missing_handler(self, msg_type: type[Message[Any]]) -> MissingHandlerError:
        return MissingHandlerError(
            f"No handler is registered for the command "
            f"{msg_type.__module__}.{msg_type.__qualname__}: "
            f"{self.missing_handler_hint(msg_type)}"
        )


class AsyncMessageBus(_MessageBus, Generic[TAsyncUow]):
    """Routes each command to its handler and each event to its handlers.

    Generic over the unit of work its transactions come from:
    ``AsyncMessageBus[BooksUnitOfWork]``. Keyword arguments are dependency
    factories (usually classes), called once per :meth:`handle` when a
    handler asks for a parameter of that name.
    """

    def sync_view(self) -> SyncMessageBus[Any]:
        """A :class:`SyncMessageBus` over this bus's registrations and dependencies.

        What runs a bus whose handlers are all sync (:attr:`all_sync`) with no
        event loop: it shares the registries, so it follows later
        registrations, and it gives this bus's error hints.
        """
        view = self._sync_view
        if view is None:
            view = self._sync_view = _SyncView(self)
        return view

    async def handle(
        self,
        command: Message[Any],
        uow: AsyncUnitOfWorkTransaction[TAsyncUow],
        **transient_dependencies: Any,
    ) -> Any:
        """Handle a command and, breadth-first, the events it causes.

        Returns the command handler's result. Every handled message is added
        to the unit of work's message store and counted by its metrics store.
        Keyword arguments are dependency instances for this call only. A
        command with no handler is a :class:`MissingHandlerError`. The
        parameters are ``messagebus``'s names: ``uow`` is the transaction.
        """
        return await self._handle_message(command, uow, transient_dependencies)

    async def _handle_message(
        self,
        message: Message[Any],
        transaction: AsyncUnitOfWorkTransaction[TAsyncUow],
        transient_dependencies: dict[str, Any],
    ) -> Any:
        self._check_message(message)
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
        metrics = uow.metrics_store
        if type(metrics) is SinkholeMetricsStore:
            # Nothing measures: spare the timer on the hot path.
            return await self._handle(
                message, transaction, uow, metrics, transient_dependencies
            )
        with metrics.command_processing_timer(message):
            return await self._handle(
                message, transaction, uow, metrics, transient_dependencies
            )

    async def _handle(
        self,
        message: Message[Any],
        transaction: AsyncUnitOfWorkTransaction[TAsyncUow],
        uow: TAsyncUow,
        metrics: Any,
        transient_dependencies: dict[str, Any],
    ) -> Any:
        messagestore = uow.messagestore
        resolve = _Dependencies(self.dependencies, transient_dependencies, transaction)
        result: Any = None
        stamp_root(message)
        queue: deque[Message[Any]] = deque((message,))
        first = True
        while queue:
            current = queue.popleft()
            self._check_message(current)
            msg_type = type(current)
            metrics.inc_messages_processed_total(current.metadata)
            token = current_message.set(current)
            try:
                command_hook = self.commands_registry.get(msg_type)
                if command_hook is not None:
                    returned = await command_hook(current, transaction, resolve, self)
                    if first:
                        result = returned
                    _enqueue(queue, uow.collect_new_events(), current)
                elif isinstance(current, GenericCommand):
                    raise self._missing_handler(msg_type)
                else:
                    for hook in self.events_registry.get(msg_type, ()):
                        await hook(current, transaction, resolve, self)
                        _enqueue(queue, uow.collect_new_events(), current)
                await messagestore.add(current)
            finally:
                current_message.reset(token)
            first = False
        return result


class SyncMessageBus(_MessageBus, Generic[TSyncUow]):
    """:class:`AsyncMessageBus` for plain ``def`` handlers: no event loop at all.

    Generic over its unit of work (a :class:`SyncAbstractUnitOfWork`);
    :meth:`scan` registers ``@sync_listen`` handlers.
    """

    _takes_async = False

    def handle(
        self,
        command: Message[Any],
        uow: SyncUnitOfWorkTransaction[TSyncUow],
        **transient_dependencies: Any,
    ) -> Any:
        """Handle a command and, breadth-first, the events it causes (see
        :meth:`AsyncMessageBus.handle`)."""
        return self._handle_message(command, uow, transient_dependencies)

    def _handle_message(
        self,
        message: Message[Any],
        transaction: SyncUnitOfWorkTransaction[TSyncUow],
        transient_dependencies: dict[str, Any],
    ) -> Any:
        self._check_message(message)
        given: object = transaction
        if not isinstance(given, SyncUnitOfWorkTransaction) and isinstance(
            given, SyncAbstractUnitOfWork
        ):
            raise TypeError(
                "handle() takes the transaction, not the unit of work: "
                "'with uow as transaction: bus.handle(cmd, transaction)'"
            )
        uow = transaction.uow
        metrics = uow.metrics_store
        with metrics.command_processing_timer(message):
            messagestore = uow.messagestore
            resolve = _Dependencies(
                self.dependencies, transient_dependencies, transaction
            )
            result: Any = None
            stamp_root(message)
            queue: deque[Message[Any]] = deque((message,))
            first = True
            while queue:
                current = queue.popleft()
                self._check_message(current)
                msg_type = type(current)
                metrics.inc_messages_processed_total(current.metadata)
                token = current_message.set(current)
                try:
                    command_hook = self.commands_registry.get(msg_type)
                    if command_hook is not None:
                        returned = command_hook.call_sync(
                            current, transaction, resolve, self
                        )
                        if first:
                            result = returned
                        _enqueue(queue, uow.collect_new_events(), current)
                    elif isinstance(current, GenericCommand):
                        raise self._missing_handler(msg_type)
                    else:
                        for hook in self.events_registry.get(msg_type, ()):
                            hook.call_sync(current, transaction, resolve, self)
                            _enqueue(queue, uow.collect_new_events(), current)
                    messagestore.add(current)
                finally:
                    current_message.reset(token)
                first = False
            return result


class _SyncView(SyncMessageBus[Any]):
    """:meth:`AsyncMessageBus.sync_view`: the same registrations, run sync."""

    _takes_async = True  # it never registers: the async bus does

    def __init__(self, source: AsyncMessageBus[Any]) -> None:
        super().__init__()
        self.source = source
        self.dependencies = source.dependencies
        self.commands_registry = source.commands_registry
        self.events_registry = source.events_registry

    def handle(
        self,
        command: Message[Any],
        uow: SyncUnitOfWorkTransaction[Any],
        **transient_dependencies: Any,
    ) -> Any:
        if not self.source.all_sync:
            raise ConfigurationError(
                "The sync view of a bus runs plain 'def' handlers only, and this "
                "bus has async ones: use AsyncMessageBus.handle()"
            )
        return super().handle(command, uow, **transient_dependencies)

    def missing_handler_hint(self, msg_type: type[Message[Any]]) -> str:
        return self.source.missing_handler_hint(msg_type)

    def missing_dependency_hint(self, name: str) -> str:
        return self.source.missing_dependency_hint(name)


def _enqueue(
    queue: deque[Message[Any]], raised: Iterator[Message[Any]], cause: Message[Any]
) -> None:
    for message in raised:
        stamp_cause(message, cause)
        queue.append(message)
