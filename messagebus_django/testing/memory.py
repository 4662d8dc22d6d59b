"""The in-memory unit of work, message store and event stream transport."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import (
    TYPE_CHECKING,
    Any,
)

from messagebus_django.core import (
    AsyncAbstractEventstreamTransport,
    AsyncAbstractMessageStoreRepository,
    AsyncAbstractRepository,
    AsyncAbstractUnitOfWork,
    AsyncEventstreamPublisher,
    Message,
)
from messagebus_django.core.observability import (
    SinkholeMetricsStore,
)
from messagebus_django.operations.instrumentation import SignallingMetricsStore

if TYPE_CHECKING:
    pass


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
    events of committed transactions in ``messagestore.published``; the
    background handlers the bus deferred (``background=True``), with their
    event, in ``deferred`` (run one with ``bus.run_handler(event, handler, ...)``).
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
        self.deferred: list[tuple[Message[Any], Callable[..., Any]]] = []
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

    def defer_handler(
        self, event: Message[Any], handler: Callable[..., Any], options: Any
    ) -> None:
        """Keep a background handler and its event in :attr:`deferred`."""
        self.deferred.append((event, handler))

    async def commit(self) -> None:
        self.committed += 1

    async def rollback(self) -> None:
        self.rolled_back += 1

    if TYPE_CHECKING:
        # Repositories given by keyword are attributes the type checker
        # cannot see; a subclass's annotations stay precisely typed.
        def __getattr__(self, name: str) -> Any: ...
