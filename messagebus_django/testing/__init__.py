"""Helpers for testing code that uses messagebus_django.

Importable without pytest, and without Django settings for the in-memory
parts (:class:`InMemoryUnitOfWork`, :class:`InMemoryMessageStore`,
:class:`RecordingEventstreamTransport`, :class:`MessageRecorder`,
:func:`record_messages`, :func:`assert_messages`); the helpers that dispatch
or read the outbox import the Django layer when called. The pytest fixtures
built on them live in :mod:`messagebus_django.testing.plugin`. See
``docs/testing.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import (
    TYPE_CHECKING,
    Any,
    NamedTuple,
    Protocol,
    TypeVar,
    cast,
)
from uuid import UUID

from messagebus_django.core import (
    AsyncAbstractEventstreamTransport,
    AsyncAbstractMessageStoreRepository,
    AsyncAbstractRepository,
    AsyncAbstractUnitOfWork,
    AsyncEventstreamPublisher,
    AsyncMessageBus,
    Err,
    GenericCommand,
    GenericEvent,
    Message,
    message_type_name,
)

# What message equality compares, so failure reports show what differs.
from messagebus_django.core.messages import _content, from_payload
from messagebus_django.core.observability import (
    AbstractMetricsStore,
    SinkholeMetricsStore,
)
from messagebus_django.metrics import SignallingMetricsStore

if TYPE_CHECKING:
    from messagebus_django.eventstream.relay import RelayReport
    from messagebus_django.eventstream.transports import Envelope, InMemoryTransport
    from messagebus_django.unit_of_work import DjangoUnitOfWork

__all__ = [
    "Dispatched",
    "EventCapture",
    "InMemoryMessageStore",
    "InMemoryUnitOfWork",
    "MessageRecorder",
    "MessagebusDispatch",
    "MessagebusSeed",
    "RecordingEventstreamTransport",
    "RecordingMetricsStore",
    "SeedError",
    "assert_messages",
    "capture_events",
    "dispatch_and_record",
    "record_messages",
    "seed",
]

TUnitOfWork = TypeVar("TUnitOfWork", bound=AsyncAbstractUnitOfWork[Any])
TMessage = TypeVar("TMessage", bound=Message[Any])

# --- In-memory unit of work -------------------------------------------------


class RecordingEventstreamTransport(AsyncAbstractEventstreamTransport):
    """An in-process event stream transport that keeps what it is sent.

    ``messages`` holds the serialized form (``{"id", "created_at", "type",
    "payload"}``) of every published event, in the order sent.
    """

    def __init__(self) -> None:
        self.messages: list[Mapping[str, Any]] = []

    async def send_message_serialized(self, message: Mapping[str, Any]) -> None:
        self.messages.append(message)


class InMemoryMessageStore(AsyncAbstractMessageStoreRepository):
    """A message store in a list, for unit tests.

    ``messages`` is every message the bus handled, commands and events, in the
    order handled, whether or not the transaction then committed.
    ``published`` is the published events (``metadata.published``) of
    committed transactions, in order: what would have left through the event
    stream. With a ``publisher``, those are also sent through it.
    """

    def __init__(self, publisher: AsyncEventstreamPublisher | None = None) -> None:
        super().__init__(publisher)
        self.messages: list[Message[Any]] = []
        self.published: list[Message[Any]] = []

    async def _add(self, message: Message[Any]) -> None:
        self.messages.append(message)

    async def add(self, message: Message[Any]) -> None:
        await self._add(message)
        # Kept even without a publisher, so ``published`` says what would leave.
        if message.metadata.published:
            self.stream_buffer.append(message)

    async def publish_eventstream(self) -> None:
        self.published.extend(self.stream_buffer)
        await super().publish_eventstream()


class InMemoryUnitOfWork(AsyncAbstractUnitOfWork[Any]):
    """A unit of work without a database, for unit-testing handlers.

    Give it in-memory repositories by keyword, or declare them as annotations
    on a subclass (each instance gets its own, as with ``DjangoUnitOfWork``)::

        uow = InMemoryUnitOfWork(books=InMemoryBookRepository())

        class BooksUnitOfWork(InMemoryUnitOfWork):
            books: InMemoryBookRepository

    :meth:`commit` and :meth:`rollback` only count (``committed``,
    ``rolled_back``): in-memory repositories keep what they were given either
    way. Every handled message is in ``messagestore.messages``, the published
    events of committed transactions in ``messagestore.published``.
    """

    messagestore: InMemoryMessageStore

    def __init__(
        self,
        *,
        messagestore: InMemoryMessageStore | None = None,
        **repositories: AsyncAbstractRepository[Any],
    ) -> None:
        self.messagestore = (
            messagestore if messagestore is not None else InMemoryMessageStore()
        )
        if type(self.metrics_store) is SinkholeMetricsStore:
            # Tells the message_handled signal, as the Django layer's do.
            self.metrics_store = SignallingMetricsStore(self.metrics_store)
        self.committed = 0
        self.rolled_back = 0
        for name, repository_class in self.repository_classes().items():
            if name in repositories:
                continue
            if inspect.isabstract(repository_class):
                raise TypeError(
                    f"{type(self).__qualname__}.{name} is annotated with the abstract "
                    f"{repository_class.__qualname__}: pass {name}=... or annotate it "
                    "with a concrete repository"
                )
            repositories[name] = repository_class()
        for name, repository in repositories.items():
            if not isinstance(repository, AsyncAbstractRepository):
                raise TypeError(
                    f"{name}={repository!r} is not a repository: the unit of work "
                    "collects events only from AsyncAbstractRepository instances"
                )
            setattr(self, name, repository)

    async def commit(self) -> None:
        self.committed += 1

    async def rollback(self) -> None:
        self.rolled_back += 1

    if TYPE_CHECKING:
        # Repositories given by keyword are attributes the type checker
        # cannot see; a subclass's annotations stay precisely typed.
        def __getattr__(self, name: str) -> Any: ...


# --- Recording messages -----------------------------------------------------


class MessageRecorder:
    """Records the messages the bus is done with, in order.

    The bus tells a unit of work's metrics store of each message once it and
    its handlers are done: the command first, then the events it caused,
    breadth-first. A rolled-back command's messages are recorded too: this is
    what the handlers did, not what was committed.
    """

    def __init__(self) -> None:
        self.messages: list[Message[Any]] = []

    def watch(self, uow: TUnitOfWork) -> TUnitOfWork:
        """Record what the bus handles in ``uow`` from now on; return ``uow``.

        ``uow``'s metrics store becomes a :class:`RecordingMetricsStore` that
        passes everything on to the store it had.
        """
        store = uow.metrics_store
        if isinstance(store, RecordingMetricsStore) and store.recorder is self:
            return uow
        uow.metrics_store = RecordingMetricsStore(store, self)
        return uow

    def record(self, message: Message[Any]) -> None:
        """Record ``message``."""
        self.messages.append(message)

    def types(self) -> list[type[Message[Any]]]:
        """The type of each recorded message, in order."""
        return [type(message) for message in self.messages]

    @property
    def commands(self) -> list[Message[Any]]:
        """The recorded commands, in order."""
        return [m for m in self.messages if isinstance(m, GenericCommand)]

    @property
    def events(self) -> list[Message[Any]]:
        """The recorded events, in order."""
        return [m for m in self.messages if isinstance(m, GenericEvent)]

    def clear(self) -> None:
        """Forget what was recorded; go on recording."""
        self.messages.clear()


class RecordingMetricsStore(SignallingMetricsStore):
    """A metrics store that also records each handled message (see :meth:`MessageRecorder.watch`)."""

    def __init__(self, inner: AbstractMetricsStore, recorder: MessageRecorder) -> None:
        super().__init__(inner)
        self.recorder = recorder

    def observe_message(self, message: Message[Any]) -> None:
        self.recorder.record(message)
        # The wrapped store tells the message_handled signal, if it does.
        self.inner.observe_message(message)


@contextlib.contextmanager
def record_messages() -> Iterator[MessageRecorder]:
    """Record every message handled inside the block, by any bus and caller.

    A receiver of :data:`~messagebus_django.signals.message_handled`, which
    the units of work of the Django layer and :class:`InMemoryUnitOfWork`
    tell of each handled message (a unit of work of your own with a metrics
    store of its own: use :meth:`MessageRecorder.watch`). It records the
    messages of every thread while the block runs.
    """
    from messagebus_django import signals

    recorder = MessageRecorder()

    def receive(sender: object, *, message: Message[Any], **kwargs: Any) -> None:
        recorder.record(message)

    signals.message_handled.connect(receive, weak=False)
    try:
        yield recorder
    finally:
        signals.message_handled.disconnect(receive)


def assert_messages(
    recorded: Iterable[Message[Any]],
    expected: Iterable[Message[Any] | type[Message[Any]]],
) -> None:
    """Assert ``recorded`` is ``expected``, in order.

    Messages compare by content (their ``message_id`` and ``created_at`` are
    ignored); an expected class matches any message of exactly that class.
    The failure names the first difference and lists both sequences.
    """
    __tracebackhide__ = True
    got = list(recorded)
    wanted = list(expected)
    for position, (actual, expectation) in enumerate(zip(got, wanted, strict=False)):
        if not _matches(actual, expectation):
            raise AssertionError(
                _mismatch(position, actual, expectation) + _listing(got, wanted)
            )
    if len(got) != len(wanted):
        raise AssertionError(
            f"expected {len(wanted)} messages, got {len(got)}" + _listing(got, wanted)
        )


def _matches(
    actual: Message[Any], expectation: Message[Any] | type[Message[Any]]
) -> bool:
    if isinstance(expectation, type):
        return type(actual) is expectation
    return actual == expectation


def _mismatch(
    position: int, actual: Message[Any], expectation: Message[Any] | type[Message[Any]]
) -> str:
    lines = [
        f"messages differ at position {position}:",
        f"  expected {_describe(expectation)}",
        f"  got      {_describe(actual)}",
    ]
    if not isinstance(expectation, type) and type(expectation) is type(actual):
        wanted, got = _content(expectation), _content(actual)
        lines.extend(
            f"  {key}: expected {value!r}, got {got[key]!r}"
            for key, value in wanted.items()
            if got[key] != value
        )
    return "\n".join(lines)


def _listing(got: Sequence[Message[Any]], wanted: Sequence[Any]) -> str:
    lines = ["", f"recorded ({len(got)}):"]
    lines.extend(f"  {i}  {_describe(message)}" for i, message in enumerate(got))
    lines.append(f"expected ({len(wanted)}):")
    lines.extend(f"  {i}  {_describe(item)}" for i, item in enumerate(wanted))
    return "\n".join(lines)


def _describe(item: Message[Any] | type[Message[Any]]) -> str:
    if isinstance(item, type):
        return f"{item.__qualname__} (any)"
    return repr(item)


# --- Dispatching in tests (Django) ------------------------------------------


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
    from messagebus_django.dispatcher import dispatch, unit_of_work_class

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
    from messagebus_django.dispatcher import dispatch

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


# --- The event stream (Django) ----------------------------------------------


class EventCapture:
    """What the outbox relay sent through an in-memory transport.

    Inside a test's transaction, Django never runs ``on_commit`` callbacks, so
    the relay that sends a command's published events right after it commits
    does not run: :meth:`flush` runs a relay pass instead (or wrap the code in
    pytest-django's ``django_capture_on_commit_callbacks(execute=True)``).
    """

    def __init__(self, transport: InMemoryTransport) -> None:
        self.transport = transport

    @property
    def envelopes(self) -> list[Envelope]:
        """Every envelope sent, in order."""
        return self.transport.sent

    def flush(self) -> RelayReport:
        """Send what the outbox holds, as ``manage.py messagebus_relay`` would."""
        from messagebus_django.eventstream.relay import OutboxRelay

        return OutboxRelay(self.transport).relay_pending()

    def clear(self) -> None:
        """Send what the outbox holds, then forget everything sent so far."""
        self.flush()
        self.transport.sent.clear()

    def types(self) -> list[str]:
        """The wire type (``"<name>_v<version>"``) of each envelope sent, in order."""
        return [envelope.type for envelope in self.transport.sent]

    def ids(self) -> list[UUID]:
        """The message id of each envelope sent, in order."""
        return [envelope.id for envelope in self.transport.sent]

    def payloads(self, message_type: str | type[Message[Any]]) -> list[dict[str, Any]]:
        """The payloads sent for a wire type or message class, in order."""
        name = (
            message_type
            if isinstance(message_type, str)
            else message_type_name(message_type)
        )
        return [e.payload for e in self.transport.sent if e.type == name]

    def messages(self, message_type: type[TMessage]) -> list[TMessage]:
        """The envelopes of ``message_type`` read back into messages, in order.

        They compare equal to the events the handlers raised (message equality
        ignores id and timestamp); their ``message_id`` and ``created_at`` are
        the envelope's.
        """
        name = message_type_name(message_type)
        return [
            from_payload(
                message_type, e.payload, message_id=e.id, created_at=e.created_at
            )
            for e in self.transport.sent
            if e.type == name
        ]


@contextlib.contextmanager
def capture_events() -> Iterator[EventCapture]:
    """Send the event stream to an in-memory transport inside the block.

    Overrides ``MESSAGEBUS_TRANSPORTS["default"]`` with
    :class:`~messagebus_django.eventstream.transports.InMemoryTransport` and gives the
    :class:`EventCapture` of that transport, the one the relay uses.
    """
    from django.test import override_settings

    from messagebus_django.eventstream.transports import (
        InMemoryTransport,
        get_transport,
        reset_transport,
    )

    path = f"{InMemoryTransport.__module__}.{InMemoryTransport.__qualname__}"
    with override_settings(MESSAGEBUS_TRANSPORTS={"default": {"BACKEND": path}}):
        reset_transport()
        try:
            yield EventCapture(cast(InMemoryTransport, get_transport()))
        finally:
            reset_transport()
