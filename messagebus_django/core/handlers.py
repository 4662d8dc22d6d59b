"""Handlers: the ``@async_listen`` / ``@sync_listen`` marks, what a handler
listens to (its signature), and calling it (sync or async, with its
dependencies). The buses that register and run them are in
:mod:`~messagebus_django.core.registry`.
"""

from __future__ import annotations

import inspect
from asyncio import events as asyncio_events
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

import venusian
from asgiref.sync import sync_to_async

from messagebus_django.core.dependency import HandlerDependencies
from messagebus_django.core.errors import ConfigurationError, MissingDependencyError
from messagebus_django.core.messages import GenericCommand, GenericEvent, Message
from messagebus_django.core.unit_of_work import (
    AsyncUnitOfWorkTransaction,
    SyncUnitOfWorkTransaction,
)

if TYPE_CHECKING:
    from messagebus_django.core.registry import _MessageBus

__all__ = [
    "AsyncMessageHandler",
    "Background",
    "MessageHandler",
    "Registration",
    "async_listen",
    "listened_type",
    "sync_listen",
]

VENUSIAN_CATEGORY = "messagebus_django"

AsyncMessageHandler = Callable[..., Awaitable[Any]]
MessageHandler = Callable[..., Any]
"""An ``async def`` handler or a plain ``def`` one (:func:`sync_listen`)."""
THandler = TypeVar("THandler", bound=AsyncMessageHandler)
TSyncHandler = TypeVar("TSyncHandler", bound=Callable[..., Any])


BACKGROUND_ATTRIBUTE = "__messagebus_background__"


@dataclass(frozen=True)
class Background:
    """How a background event handler is enqueued (``@async_listen(background=True)``).

    ``None`` leaves the choice to the task framework: its ``"default"`` backend
    and queue, its default priority. The core only carries these options; the
    Django layer (:mod:`messagebus_django.background`) enqueues the task.
    """

    backend: str | None = None
    """The name of the task backend (a key of Django's ``TASKS`` setting)."""
    queue_name: str | None = None
    """The queue of the task (one of the backend's ``QUEUES``)."""
    priority: int | None = None
    """The task's priority, -100 to 100 (where the backend supports priorities)."""


def background_of(handler: Callable[..., Any]) -> Background | None:
    """The background options of a handler, or ``None`` if it runs in the transaction."""
    options = getattr(handler, BACKGROUND_ATTRIBUTE, None)
    return options if isinstance(options, Background) else None


@overload
def async_listen(wrapped: THandler) -> THandler: ...


@overload
def async_listen(
    *,
    background: bool = False,
    backend: str | None = None,
    queue_name: str | None = None,
    priority: int | None = None,
) -> Callable[[THandler], THandler]: ...


def async_listen(
    wrapped: THandler | None = None,
    *,
    background: bool = False,
    backend: str | None = None,
    queue_name: str | None = None,
    priority: int | None = None,
) -> THandler | Callable[[THandler], THandler]:
    """Mark an ``async def`` as the handler of the message type of its first parameter.

    The mark takes effect when the handler's module is scanned by
    :meth:`AsyncMessageBus.scan`. A command has one handler, an event any number.

    ``@async_listen(background=True)`` makes an event handler run in the
    background: handling the event enqueues a task (Django's tasks framework,
    see :mod:`messagebus_django.background`) that runs the handler later, in
    a unit of work of its own; ``backend``, ``queue_name`` and ``priority``
    choose where the task goes.
    """
    options = _background_options(
        "@async_listen", background, backend, queue_name, priority
    )

    def mark(handler: THandler) -> THandler:
        if not inspect.iscoroutinefunction(cast(Any, handler)):
            raise ConfigurationError(
                f"@async_listen needs an 'async def' function, got {_describe(handler)}"
            )
        _attach(handler, is_async=True, background=options)
        return handler

    if wrapped is None:
        return mark
    if not inspect.iscoroutinefunction(cast(Any, wrapped)):
        raise ConfigurationError(
            f"@async_listen needs an 'async def' function, got {_describe(wrapped)}"
        )
    _attach(wrapped, is_async=True, background=None)
    return wrapped


@overload
def sync_listen(wrapped: TSyncHandler) -> TSyncHandler: ...


@overload
def sync_listen(
    *,
    background: bool = False,
    backend: str | None = None,
    queue_name: str | None = None,
    priority: int | None = None,
) -> Callable[[TSyncHandler], TSyncHandler]: ...


def sync_listen(
    wrapped: TSyncHandler | None = None,
    *,
    background: bool = False,
    backend: str | None = None,
    queue_name: str | None = None,
    priority: int | None = None,
) -> TSyncHandler | Callable[[TSyncHandler], TSyncHandler]:
    """Mark a plain ``def`` as the handler of the message type of its first parameter.

    :meth:`SyncMessageBus.scan` registers it, as in ``messagebus``; so does
    :meth:`AsyncMessageBus.scan`, where it runs through ``sync_to_async``
    (thread-sensitive, on the thread that holds the transaction), or directly
    when the bus runs with no event loop (every handler sync: see
    :func:`~messagebus_django.dispatch`). ``@sync_listen(background=True)``:
    as :func:`async_listen`.
    """
    options = _background_options(
        "@sync_listen", background, backend, queue_name, priority
    )

    def mark(handler: TSyncHandler) -> TSyncHandler:
        if _is_async(handler) or not callable(handler):
            raise ConfigurationError(
                f"@sync_listen needs a plain 'def' function, got {_describe(handler)}"
            )
        _attach(handler, is_async=False, background=options)
        return handler

    if wrapped is None:
        return mark
    if _is_async(wrapped) or not callable(wrapped):
        raise ConfigurationError(
            f"@sync_listen needs a plain 'def' function, got {_describe(wrapped)}"
        )
    _attach(wrapped, is_async=False, background=None)
    return wrapped


def _background_options(
    decorator: str,
    background: bool,
    backend: str | None,
    queue_name: str | None,
    priority: int | None,
) -> Background | None:
    if not isinstance(background, bool):
        raise ConfigurationError(
            f"{decorator}(background=...) takes True or False, got {background!r}"
        )
    if not background:
        given = [
            name
            for name, value in (
                ("backend", backend),
                ("queue_name", queue_name),
                ("priority", priority),
            )
            if value is not None
        ]
        if given:
            raise ConfigurationError(
                f"{decorator}({', '.join(f'{name}=...' for name in given)}) "
                "chooses where a background handler's task goes: add background=True"
            )
        return None
    if priority is not None and (
        isinstance(priority, bool) or not isinstance(priority, int)
    ):
        raise ConfigurationError(
            f"{decorator}(priority=...) takes a whole number, got {priority!r}"
        )
    for name, value in (("backend", backend), ("queue_name", queue_name)):
        if value is not None and not (isinstance(value, str) and value):
            raise ConfigurationError(
                f"{decorator}({name}=...) takes a non-empty name, got {value!r}"
            )
    return Background(backend=backend, queue_name=queue_name, priority=priority)


def _attach(
    wrapped: Callable[..., Any],
    *,
    is_async: bool,
    background: Background | None,
) -> None:
    if background is not None:
        setattr(wrapped, BACKGROUND_ATTRIBUTE, background)

    def callback(scanner: venusian.Scanner, name: str, ob: Any) -> None:
        found = getattr(scanner, "messagebus", None)
        if isinstance(found, _ScanResults) and (found.take_async or not is_async):
            found.append(wrapped)

    # depth=2: the module that applied the decorator (past _attach and the
    # decorator, or its mark() in the called form).
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

    __slots__ = (
        "_wrapped",
        "background",
        "bare",
        "callback",
        "direct",
        "is_async",
        "optional",
        "required",
    )

    def __init__(self, callback: MessageHandler) -> None:
        self.callback = callback
        self.is_async = _is_async(callback)
        self.background = background_of(callback)
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
        self.bare = not (self.required or self.optional)
        """The handler takes no dependencies: no resolver is needed to call it."""
        self.direct = self.is_async and self.bare
        """An ``async def`` taking no dependencies: the async bus awaits the
        callback itself, without this hook's own coroutine in between."""
        self._wrapped: Callable[..., Awaitable[Any]] | None = None

    @property
    def dependencies(self) -> list[str]:
        """The names of the dependencies the handler needs (``messagebus``'s name)."""
        return list(self.required)

    @property
    def optional_dependencies(self) -> list[str]:
        """The names of those it takes when given (``messagebus``'s name)."""
        return list(self.optional)

    def arguments(
        self, resolve: HandlerDependencies | None, bus: _MessageBus
    ) -> dict[str, Any]:
        """The dependencies to pass, by name; a missing required one raises.

        ``resolve`` may be ``None`` only for a handler that takes none
        (:attr:`bare`), which the bus calls without it.
        """
        assert resolve is not None, "a handler with dependencies needs the resolver"
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
        resolve: HandlerDependencies | None,
        bus: _MessageBus,
    ) -> Any:
        if not (self.required or self.optional):
            if self.is_async:
                return await self.callback(message, transaction)
            return await self._call_sync(message, transaction)
        kwargs = self.arguments(resolve, bus)
        if self.is_async:
            return await self.callback(message, transaction, **kwargs)
        return await self._call_sync(message, transaction, **kwargs)

    async def _call_sync(self, *args: Any, **kwargs: Any) -> Any:
        """Call the sync handler from :meth:`AsyncMessageBus.handle`.

        Driven without an event loop (see :func:`run_without_loop`), it is
        called directly; under a running loop, through ``sync_to_async`` so
        that it runs where the loop's sync work goes (the thread holding the
        transaction). The wrapper is built once per handler: asgiref's
        inspects the function it wraps, and holds nothing of a call.
        """
        if asyncio_events._get_running_loop() is None:
            return self.callback(*args, **kwargs)
        wrapped = self._wrapped
        if wrapped is None:
            wrapped = self._wrapped = sync_to_async(
                self.callback, thread_sensitive=True
            )
        return await wrapped(*args, **kwargs)

    def call_sync(
        self,
        message: Message[Any],
        transaction: SyncUnitOfWorkTransaction[Any],
        resolve: HandlerDependencies | None,
        bus: _MessageBus,
    ) -> Any:
        if not (self.required or self.optional):
            return self.callback(message, transaction)
        return self.callback(message, transaction, **self.arguments(resolve, bus))


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
    background: Background | None = None
    """How the handler's task is enqueued if it runs in the background; else ``None``."""

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
        background=hook.background,
    )


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
