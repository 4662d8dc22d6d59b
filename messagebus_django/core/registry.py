"""The buses: :class:`AsyncMessageBus` and :class:`SyncMessageBus` register
handlers (by scanning modules with venusian, or one by one) and handle a
message and the events it causes. The handlers' marks and calling are in
:mod:`~messagebus_django.core.handlers`, their dependencies in
:mod:`~messagebus_django.core.dependency`.

``AsyncMessageBus.scan`` registers both kinds of handlers (a plain ``def`` runs
through ``sync_to_async``, or directly when no event loop runs);
``SyncMessageBus.scan`` registers the ``@sync_listen`` ones only, and runs with
no event loop at all.
"""

from __future__ import annotations

import importlib
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import venusian

from messagebus_django.core.dependency import HandlerDependencies
from messagebus_django.core.errors import (
    ConfigurationError,
    MissingDependencyError,
    MissingHandlerError,
)
from messagebus_django.core.handlers import (
    VENUSIAN_CATEGORY,
    MessageHandler,
    Registration,
    _describe,
    _Hook,
    _is_async,
    _is_message_class,
    _not_a_message_class,
    _registration,
    _same_handler,
    _ScanResults,
    async_listen,
    background_of,
    listened_type,
    sync_listen,
)
from messagebus_django.core.messages import GenericCommand, GenericEvent, Message
from messagebus_django.core.observability import SinkholeMetricsStore
from messagebus_django.core.repository import (
    AsyncSinkholeMessageStoreRepository,
    SyncSinkholeMessageStoreRepository,
)
from messagebus_django.core.tracing import (
    current_message,
    stamp_cause,
    stamp_root,
)
from messagebus_django.core.unit_of_work import (
    _REPOSITORY_TYPES,
    AsyncAbstractUnitOfWork,
    AsyncUnitOfWorkTransaction,
    SyncAbstractUnitOfWork,
    SyncUnitOfWorkTransaction,
    TAsyncUow,
    TSyncUow,
    _UnitOfWorkBase,
    is_repository_type,
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

TResult = TypeVar("TResult")

_MESSAGE_CLASSES = (GenericCommand, GenericEvent)
_SINKHOLE_STORES = (
    AsyncSinkholeMessageStoreRepository,
    SyncSinkholeMessageStoreRepository,
)


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
            if background_of(callback) is not None:
                raise ConfigurationError(
                    f"{_describe(callback)} handles the command "
                    f"{msg_type.__qualname__} and is marked background=True: only "
                    "event handlers may run in the background, a command "
                    "handler's result goes back to its caller (drop "
                    "background=True, or raise an event and handle that in the "
                    "background)"
                )
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

    def _hook_of(self, event: Message[Any], handler: MessageHandler) -> _Hook:
        self._check_message(event)
        if isinstance(event, GenericCommand):
            raise ConfigurationError(
                f"run_handler() runs an event handler; {type(event).__qualname__} "
                "is a command: use handle()"
            )
        for hook in self.events_registry.get(type(event), ()):
            if _same_handler(hook.callback, handler):
                return hook
        raise ConfigurationError(
            f"{_describe(handler)} is not registered for the event "
            f"{type(event).__qualname__} on this bus"
        )

    def _check_message(self, message: object) -> None:
        if not isinstance(message, _MESSAGE_CLASSES):
            raise RuntimeError(f"{message} was not an Event or Command")

    # The steps that AsyncMessageBus.handle and SyncMessageBus.handle share.

    def _start(
        self,
        message: Message[Any],
        transaction: Any,
        transient_dependencies: dict[str, Any],
        *,
        async_: bool,
    ) -> tuple[Any, Any, Any, HandlerDependencies | None]:
        """Check the arguments of ``handle``; stamp the command.

        Returns the unit of work, its metrics store and message store (each
        ``None`` when it is the default that does nothing, so that the loop
        skips it) and the call's dependencies (``None`` until a handler asks
        for one, when ``handle`` was given none: see :meth:`_dependencies`).
        """
        if not isinstance(message, _MESSAGE_CLASSES):
            self._check_message(message)
        # A plain class check first: the ABC check is slower, and only
        # needed to explain a mistake.
        if async_:
            if not isinstance(transaction, AsyncUnitOfWorkTransaction) and isinstance(
                transaction, AsyncAbstractUnitOfWork
            ):
                raise TypeError(
                    "handle() takes the transaction, not the unit of work: "
                    "'async with uow as transaction: await bus.handle(cmd, transaction)'"
                )
        elif not isinstance(transaction, SyncUnitOfWorkTransaction) and isinstance(
            transaction, SyncAbstractUnitOfWork
        ):
            raise TypeError(
                "handle() takes the transaction, not the unit of work: "
                "'with uow as transaction: bus.handle(cmd, transaction)'"
            )
        uow = transaction.uow
        metrics = uow.metrics_store
        if type(metrics) is SinkholeMetricsStore or metrics.idle:
            metrics = None  # nothing measures: spare the calls
        store = uow.messagestore
        if type(store) in _SINKHOLE_STORES and store.publisher is None:
            store = None  # nothing is kept
        resolve = (
            HandlerDependencies(self.dependencies, transient_dependencies, transaction)
            if transient_dependencies
            else None
        )
        stamp_root(message)
        return uow, metrics, store, resolve

    def _dependencies(
        self, transaction: Any, transient_dependencies: dict[str, Any]
    ) -> HandlerDependencies:
        """The dependencies of a ``handle`` given none, when a handler first asks.

        (Given some, they are made at the start: they listen to the
        transaction whether a handler takes them or not.)
        """
        return HandlerDependencies(
            self.dependencies, transient_dependencies, transaction
        )

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
        return await self._run(command, uow, transient_dependencies, None)

    async def run_handler(
        self,
        event: Message[Any],
        handler: MessageHandler,
        uow: AsyncUnitOfWorkTransaction[TAsyncUow],
        **transient_dependencies: Any,
    ) -> None:
        """Run one registered handler of ``event`` now, background or not.

        Then, as :meth:`handle`, the events it causes, breadth-first. What
        runs a background handler's task (:mod:`messagebus_django.background`).
        """
        only = self._hook_of(event, handler)
        await self._run(event, uow, transient_dependencies, only)

    async def _run(
        self,
        message: Message[Any],
        transaction: AsyncUnitOfWorkTransaction[TAsyncUow],
        transient_dependencies: dict[str, Any],
        only: _Hook | None,
    ) -> Any:
        # One frame for the whole loop: the steps it shares with
        # SyncMessageBus._run are plain functions, only the calls of the
        # handlers and the message store differ (awaited here).
        work, metrics, store, resolve = self._start(
            message, transaction, transient_dependencies, async_=True
        )
        commands = self.commands_registry
        result: Any = None
        queue: deque[Message[Any]] = deque((message,))
        first = True
        # ``with metrics.command_processing_timer(message):``, written out so
        # that no timer is entered when nothing measures.
        timer = None if metrics is None else metrics.command_processing_timer(message)
        if timer is not None:
            timer.__enter__()
        try:
            while queue:
                current = queue.popleft()
                # Route: the command's hook, or else the event's hooks.
                if not first and not isinstance(current, _MESSAGE_CLASSES):
                    self._check_message(current)
                if metrics is not None:
                    metrics.inc_messages_processed_total(current.metadata)
                command_hook = commands.get(type(current))
                if command_hook is None and isinstance(current, GenericCommand):
                    raise self._missing_handler(type(current))
                token = current_message.set(current)
                try:
                    if command_hook is not None:
                        if command_hook.direct:
                            returned = await command_hook.callback(current, transaction)
                        else:
                            if resolve is None and not command_hook.bare:
                                resolve = self._dependencies(
                                    transaction, transient_dependencies
                                )
                            returned = await command_hook(
                                current, transaction, resolve, self
                            )
                        if first:
                            result = returned
                        _enqueue(queue, work, current)
                    elif first and only is not None:
                        if resolve is None and not only.bare:
                            resolve = self._dependencies(
                                transaction, transient_dependencies
                            )
                        await only(current, transaction, resolve, self)
                        _enqueue(queue, work, current)
                    else:
                        for hook in self.events_registry.get(type(current), ()):
                            if hook.background is not None:
                                work.defer_handler(
                                    current, hook.callback, hook.background
                                )
                                continue
                            if hook.direct:
                                await hook.callback(current, transaction)
                            else:
                                if resolve is None and not hook.bare:
                                    resolve = self._dependencies(
                                        transaction, transient_dependencies
                                    )
                                await hook(current, transaction, resolve, self)
                            _enqueue(queue, work, current)
                    if store is not None:
                        await store.add(current)
                    if metrics is not None:
                        metrics.observe_message(current)
                finally:
                    current_message.reset(token)
                first = False
        except BaseException as error:
            if timer is None or not timer.__exit__(
                type(error), error, error.__traceback__
            ):
                raise
        else:
            if timer is not None:
                timer.__exit__(None, None, None)
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
        return self._run(command, uow, transient_dependencies, None)

    def run_handler(
        self,
        event: Message[Any],
        handler: MessageHandler,
        uow: SyncUnitOfWorkTransaction[TSyncUow],
        **transient_dependencies: Any,
    ) -> None:
        """:meth:`AsyncMessageBus.run_handler` for the sync bus."""
        only = self._hook_of(event, handler)
        self._run(event, uow, transient_dependencies, only)

    def _run(
        self,
        message: Message[Any],
        transaction: SyncUnitOfWorkTransaction[TSyncUow],
        transient_dependencies: dict[str, Any],
        only: _Hook | None,
    ) -> Any:
        work, metrics, store, resolve = self._start(
            message, transaction, transient_dependencies, async_=False
        )
        commands = self.commands_registry
        result: Any = None
        queue: deque[Message[Any]] = deque((message,))
        first = True
        # As in AsyncMessageBus._run: the timer's ``with``, written out.
        timer = None if metrics is None else metrics.command_processing_timer(message)
        if timer is not None:
            timer.__enter__()
        try:
            while queue:
                current = queue.popleft()
                if not first and not isinstance(current, _MESSAGE_CLASSES):
                    self._check_message(current)
                if metrics is not None:
                    metrics.inc_messages_processed_total(current.metadata)
                command_hook = commands.get(type(current))
                if command_hook is None and isinstance(current, GenericCommand):
                    raise self._missing_handler(type(current))
                token = current_message.set(current)
                try:
                    if command_hook is not None:
                        if command_hook.bare:
                            returned = command_hook.callback(current, transaction)
                        else:
                            if resolve is None:
                                resolve = self._dependencies(
                                    transaction, transient_dependencies
                                )
                            returned = command_hook.call_sync(
                                current, transaction, resolve, self
                            )
                        if first:
                            result = returned
                        _enqueue(queue, work, current)
                    elif first and only is not None:
                        if resolve is None:
                            resolve = self._dependencies(
                                transaction, transient_dependencies
                            )
                        only.call_sync(current, transaction, resolve, self)
                        _enqueue(queue, work, current)
                    else:
                        for hook in self.events_registry.get(type(current), ()):
                            if hook.background is not None:
                                work.defer_handler(
                                    current, hook.callback, hook.background
                                )
                                continue
                            if hook.bare:
                                hook.callback(current, transaction)
                            else:
                                if resolve is None:
                                    resolve = self._dependencies(
                                        transaction, transient_dependencies
                                    )
                                hook.call_sync(current, transaction, resolve, self)
                            _enqueue(queue, work, current)
                    if store is not None:
                        store.add(current)
                    if metrics is not None:
                        metrics.observe_message(current)
                finally:
                    current_message.reset(token)
                first = False
        except BaseException as error:
            if timer is None or not timer.__exit__(
                type(error), error, error.__traceback__
            ):
                raise
        else:
            if timer is not None:
                timer.__exit__(None, None, None)
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

    def run_handler(
        self,
        event: Message[Any],
        handler: MessageHandler,
        uow: SyncUnitOfWorkTransaction[Any],
        **transient_dependencies: Any,
    ) -> None:
        if not self.source.all_sync:
            raise ConfigurationError(
                "The sync view of a bus runs plain 'def' handlers only, and this "
                "bus has async ones: use AsyncMessageBus.run_handler()"
            )
        super().run_handler(event, handler, uow, **transient_dependencies)

    def missing_handler_hint(self, msg_type: type[Message[Any]]) -> str:
        return self.source.missing_handler_hint(msg_type)

    def missing_dependency_hint(self, name: str) -> str:
        return self.source.missing_dependency_hint(name)


def _enqueue(queue: deque[Message[Any]], uow: Any, cause: Message[Any]) -> None:
    """Queue the events the handler just raised (the unit of work's new events)."""
    kind = type(uow)
    if (
        kind.collect_new_events is _collect_new_events
        and kind.iter_repositories is _iter_repositories
    ):
        # The unit of work's own: its repositories' models, looked at here
        # without the generators (this runs after every handler, and most
        # raise nothing).
        for member in vars(uow).values():
            kind = type(member)
            is_repository = _REPOSITORY_TYPES.get(kind)
            if is_repository is None:
                is_repository = is_repository_type(kind)
            if not is_repository:
                continue
            seen = member.seen
            while seen:
                messages = seen.pop(0).messages
                while messages:
                    message = messages.pop(0)
                    stamp_cause(message, cause)
                    queue.append(message)
        return
    for message in uow.collect_new_events():
        stamp_cause(message, cause)
        queue.append(message)


_collect_new_events = _UnitOfWorkBase.collect_new_events
_iter_repositories = _UnitOfWorkBase.iter_repositories
