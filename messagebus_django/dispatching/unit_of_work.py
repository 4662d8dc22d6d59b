"""The Django-ORM unit of work: one command, one ``transaction.atomic`` block."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Self

from django.db import transaction

from messagebus_django import signals
from messagebus_django.background.enqueue import Deferred, enqueue_deferred
from messagebus_django.conf import conf
from messagebus_django.core import (
    AsyncAbstractMessageStoreRepository,
    AsyncAbstractRepository,
    AsyncAbstractUnitOfWork,
    AsyncSinkholeMessageStoreRepository,
    AsyncUnitOfWorkTransaction,
    Message,
    SinkholeMetricsStore,
    SyncAbstractMessageStoreRepository,
    SyncAbstractUnitOfWork,
    SyncSinkholeMessageStoreRepository,
    SyncUnitOfWorkTransaction,
    run_without_loop,
)
from messagebus_django.core.repository import RepositoryBase
from messagebus_django.dispatching import bridge
from messagebus_django.dispatching.messagestore import DjangoMessageStore
from messagebus_django.operations import metrics

__all__ = ["DjangoSyncUnitOfWork", "DjangoUnitOfWork"]


_DECLARED: dict[type[Any], tuple[tuple[str, type[Any]], ...]] = {}
"""Each unit of work class's checked repositories (``concrete_repository_classes``)."""
_IS_REPOSITORY: dict[type[Any], bool] = {}
"""Whether each type met among units of work's attributes is a repository."""
_DJANGO_STORES: dict[type[Any], bool] = {}
"""Whether each message store type is a :class:`DjangoMessageStore`."""


def _django_store(store: Any) -> DjangoMessageStore | None:
    """``store`` if it is a :class:`DjangoMessageStore`: one ABC check per type."""
    kind = type(store)
    known = _DJANGO_STORES.get(kind)
    if known is None:
        known = _DJANGO_STORES[kind] = issubclass(kind, DjangoMessageStore)
    found: DjangoMessageStore | None = store if known else None
    return found


class DjangoUnitOfWork(AsyncAbstractUnitOfWork[Any]):
    """A unit of work whose transaction is a Django ``atomic`` block.

    Subclasses declare their repositories as annotations; each unit of work
    gets its own instance of each::

        class BooksUnitOfWork(DjangoUnitOfWork):
            books: DjangoBookRepository
            activities: DjangoActivityRepository

    The ``atomic`` block is opened and closed by :func:`~messagebus_django.dispatch`
    on the thread that owns the database connection; :meth:`commit` and
    :meth:`rollback` only decide how it ends, so they are safe to await from
    async handlers.
    """

    using: str
    """The database alias of the transaction."""

    def __init__(self, *, using: str | None = None) -> None:
        using = using or conf.DATABASE
        self.using = using
        if type(self.metrics_store) is SinkholeMetricsStore:
            # No store of the subclass's own: the project's (MESSAGEBUS_METRICS).
            self.metrics_store = metrics.store()
        if conf.STORE_MESSAGES:
            self.messagestore = DjangoMessageStore()
        cls = type(self)
        declared = _DECLARED.get(cls)
        if declared is None:
            # Checked once per class: annotations do not change.
            declared = _DECLARED[cls] = tuple(cls.concrete_repository_classes().items())
        for name, repository_class in declared:
            repository = repository_class()
            if hasattr(repository, "using"):
                setattr(repository, "using", using)  # noqa: B010
            setattr(self, name, repository)
        self.rollback_requested = False
        self.after_commit: list[Callable[[], Any]] = []
        self.deferred: list[Deferred] = []

    @classmethod
    def concrete_repository_classes(
        cls,
    ) -> dict[str, type[AsyncAbstractRepository[Any]]]:
        """The declared repositories; an abstract one is a ``TypeError``."""
        declared = cls.repository_classes()
        for name, hint in declared.items():
            if inspect.isabstract(hint):
                raise TypeError(
                    f"{cls.__qualname__}.{name} is annotated with the abstract "
                    f"{hint.__qualname__}: annotate it with a concrete repository"
                )
        return declared

    def _reset(self) -> None:
        # A unit of work may be reused: forget the last transaction's state.
        self.rollback_requested = False
        self.after_commit = []
        self.deferred = []
        store = _django_store(self.messagestore)
        if store is not None:
            store.pending = []
            store.written = []

    async def __aenter__(self) -> AsyncUnitOfWorkTransaction[Any]:
        self._reset()
        return await super().__aenter__()

    def sync_view(self) -> DjangoSyncUnitOfWork:
        """This unit of work as the sync bus takes it (``with ... as transaction``).

        :func:`~messagebus_django.dispatch` uses it when every handler is sync:
        the same repositories, message store, metrics store and ``atomic``
        block, with plain-``def`` ``commit()`` and ``rollback()``.
        """
        return DjangoSyncUnitOfWork(self)

    async def commit(self) -> None:
        """Let the ``atomic`` block commit when it ends."""
        self.rollback_requested = False

    async def rollback(self) -> None:
        """Make the ``atomic`` block roll back when it ends."""
        self.rollback_requested = True
        self.after_commit.clear()
        self.deferred.clear()

    def defer_handler(
        self, event: Message[Any], handler: Callable[..., Any], options: Any
    ) -> None:
        """Keep a background handler for :meth:`end`, which enqueues its task.

        See :mod:`messagebus_django.background`.
        """
        self.deferred.append(Deferred(event, handler, options))

    async def run_after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Defer ``callback`` until the database has committed (``on_commit``)."""
        self.after_commit.append(callback)

    def on_commit(self, func: Callable[[], Any]) -> None:
        """Call ``func`` after the command's transaction commits.

        Usable from async handlers, unlike ``transaction.on_commit``. ``func``
        may be a plain function or an ``async def``; it runs on the thread that
        dispatched the command, after COMMIT, never after a rollback. An
        exception it raises is logged, not raised (``robust=True``), so make it
        idempotent and safe to fail.
        """
        self.after_commit.append(func)

    def received(self, message: Message[Any]) -> None:
        """``message`` was received from another service: do not record it again.

        The consumer of the event stream calls it before handling a delivery,
        so that only the messages it causes are stored (and published).
        """
        store = _django_store(self.messagestore)
        if store is not None:
            store.ignore(message.message_id)

    def handled_messages(self) -> list[Message[Any]]:
        """The messages the committed unit of work recorded (with the message store)."""
        store = _django_store(self.messagestore)
        return [] if store is None else list(store.written)

    def end(self) -> None:
        """Settle how the ``atomic`` block ends, on its thread, inside it.

        Called by :func:`~messagebus_django.dispatch` once the handlers are
        done: a rollback marks the block for rollback; otherwise the handled
        messages are written and the after-commit work is handed to
        ``transaction.on_commit(robust=True)``: the unit of work's own callbacks,
        and :data:`~messagebus_django.signals.messages_committed` when published
        events were written (the event stream's app sends them).
        """
        if self.rollback_requested:
            transaction.set_rollback(True, using=self.using)
            return
        store = _django_store(self.messagestore)
        if store is not None:
            published = store.write(self.using)
            if published and signals.messages_stored.has_listeners(type(self)):
                signals.messages_stored.send(
                    type(self),
                    messages=store.written,
                    published=published,
                    using=self.using,
                )
            if published and signals.messages_committed.has_listeners(type(self)):
                transaction.on_commit(
                    functools.partial(
                        signals.messages_committed.send,
                        type(self),
                        messages=store.written,
                        published=published,
                        using=self.using,
                    ),
                    using=self.using,
                    robust=True,
                )
        for callback in self.after_commit:
            transaction.on_commit(_as_sync(callback), using=self.using, robust=True)
        if self.deferred:
            enqueue_deferred(
                self.deferred, self.using, None if store is None else store.payloads
            )


class _SyncMessageStore(SyncAbstractMessageStoreRepository):
    """The Django unit of work's message store, for the sync bus."""

    def __init__(self, store: AsyncAbstractMessageStoreRepository) -> None:
        # No publisher of its own: the wrapped store keeps and publishes the
        # event stream, so both paths of dispatch() publish the same.
        self.store = store
        self.publisher = None

    @property
    def stream_buffer(self) -> list[Message[Any]]:
        """The wrapped store's buffer: what its ``add()`` kept for the stream."""
        return self.store.stream_buffer

    @stream_buffer.setter
    def stream_buffer(self, value: list[Message[Any]]) -> None:
        self.store.stream_buffer = value

    def _add(self, message: Message[Any]) -> None:
        # The Django store only keeps the message here (it writes in end()).
        run_without_loop(self.store.add(message))

    def publish_eventstream(self) -> None:
        # After COMMIT, on the dispatching thread (on_commit): no loop runs
        # there, and a transport may really await I/O.
        bridge.run(self.store.publish_eventstream)

    def discard_eventstream(self) -> None:
        super().discard_eventstream()
        self.store.discard_eventstream()


class _SyncDjangoMessageStore(_SyncMessageStore):
    """:class:`_SyncMessageStore` of the :class:`DjangoMessageStore` itself.

    Its ``add()`` keeps the message as the store's would, without a coroutine
    per message (the store's ``_add`` never waits).
    """

    store: DjangoMessageStore

    def add(self, message: Message[Any]) -> None:
        store = self.store
        if message.message_id not in store._ignored:
            store.pending.append(message)
        if store.publisher is not None and message.metadata.published:
            store.stream_buffer.append(message)


_SYNC_SINKHOLE = SyncSinkholeMessageStoreRepository()


def _sync_store(store: AsyncAbstractMessageStoreRepository) -> Any:
    """The sync bus's view of the unit of work's message store ``store``."""
    kind = type(store)
    if kind is AsyncSinkholeMessageStoreRepository and store.publisher is None:
        # Keeps and publishes nothing: the bus skips the sync one altogether.
        return _SYNC_SINKHOLE
    if kind is DjangoMessageStore:
        return _SyncDjangoMessageStore(store)
    return _SyncMessageStore(store)


class DjangoSyncUnitOfWork(SyncAbstractUnitOfWork[Any]):
    """A :class:`DjangoUnitOfWork` seen by the sync bus (see its ``sync_view()``).

    Its repositories and ``using`` are the Django unit of work's own; other
    attributes (``on_commit``...) are read from it.
    """

    using: str
    """The database alias of the transaction (the Django unit of work's)."""

    def __init__(self, uow: DjangoUnitOfWork) -> None:
        self.django_uow = uow
        # Read by every handler that writes (uow.using): no __getattr__ for it.
        self.using = uow.using
        self.metrics_store = uow.metrics_store
        self.messagestore = _sync_store(uow.messagestore)
        for name, member in vars(uow).items():
            kind = type(member)
            is_repository = _IS_REPOSITORY.get(kind)
            if is_repository is None:
                # The ABC check once per type, not per attribute and command.
                is_repository = _IS_REPOSITORY[kind] = issubclass(kind, RepositoryBase)
            if is_repository:
                setattr(self, name, member)

    def __getattr__(self, name: str) -> Any:
        if name == "django_uow":  # not set yet: no endless recursion
            raise AttributeError(name)
        return getattr(self.django_uow, name)

    def __enter__(self) -> SyncUnitOfWorkTransaction[Self]:
        self.django_uow._reset()
        return super().__enter__()

    def commit(self) -> None:
        """Let the ``atomic`` block commit when it ends."""
        self.django_uow.rollback_requested = False

    def rollback(self) -> None:
        """Make the ``atomic`` block roll back when it ends."""
        self.django_uow.rollback_requested = True
        self.django_uow.after_commit.clear()
        self.django_uow.deferred.clear()

    def defer_handler(
        self, event: Message[Any], handler: Callable[..., Any], options: Any
    ) -> None:
        """The Django unit of work's :meth:`~DjangoUnitOfWork.defer_handler`."""
        self.django_uow.defer_handler(event, handler, options)

    def run_after_commit(self, callback: Callable[[], None]) -> None:
        """Defer ``callback`` until the database has committed (``on_commit``)."""
        self.django_uow.after_commit.append(callback)


def _as_sync(func: Callable[[], Any]) -> Callable[[], None]:
    """An ``on_commit`` callback that also awaits what ``func`` returns, if awaitable."""

    def call() -> None:
        # After COMMIT the command is done: a cancelled request must not
        # cancel its after-commit work (the bridge reads this variable).
        token = bridge.cancellation.set(None)
        try:
            if inspect.iscoroutinefunction(func):
                bridge.run(func)
                return
            result = func()
            if inspect.isawaitable(result):
                bridge.run(_await, result)
        finally:
            bridge.cancellation.reset(token)

    return call


async def _await(awaitable: Awaitable[Any]) -> None:
    await awaitable
