"""Recording the messages the bus handles, and asserting on them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import (
    TYPE_CHECKING,
    Any,
    TypeVar,
)

from messagebus_django.core import (
    AsyncAbstractUnitOfWork,
    GenericCommand,
    GenericEvent,
    Message,
)

# What message equality compares, so failure reports show what differs.
from messagebus_django.core.messages import _content
from messagebus_django.core.observability import (
    AbstractMetricsStore,
)
from messagebus_django.operations.instrumentation import SignallingMetricsStore

if TYPE_CHECKING:
    pass


TUnitOfWork = TypeVar("TUnitOfWork", bound=AsyncAbstractUnitOfWork[Any])


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
