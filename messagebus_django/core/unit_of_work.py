"""The unit of work and its transaction, async and sync.

``async with uow as transaction`` (``with uow as transaction`` for the sync
unit of work) gives a transaction that must be explicitly committed or rolled
back before the block ends; leaving it open is a :class:`TransactionError`
(and it is rolled back), and an exception inside the block rolls it back.

Units of work take three type parameters, ``[TRepositories, TMessageStore,
TMetricsStore]``; the last two have defaults, so ``AsyncAbstractUnitOfWork[Repos]``
keeps working. A transaction is typed by its unit of work:
``AsyncUnitOfWorkTransaction[BooksUnitOfWork]``.
"""

from __future__ import annotations

import abc
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, cast, get_type_hints

from typing_extensions import TypeVar

from messagebus_django.core.errors import ConfigurationError
from messagebus_django.core.messages import Message
from messagebus_django.core.observability import (
    AbstractMetricsStore,
    SinkholeMetricsStore,
    TMetricsStore,
)
from messagebus_django.core.repository import (
    AsyncAbstractMessageStoreRepository,
    AsyncAbstractRepository,
    AsyncSinkholeMessageStoreRepository,
    RepositoryBase,
    SyncAbstractMessageStoreRepository,
    SyncAbstractRepository,
    SyncSinkholeMessageStoreRepository,
)
from messagebus_django.core.transaction import TransactionError, TransactionStatus

__all__ = [
    "AsyncAbstractUnitOfWork",
    "AsyncDependency",
    "AsyncUnitOfWorkTransaction",
    "SyncAbstractUnitOfWork",
    "SyncDependency",
    "SyncUnitOfWorkTransaction",
    "TAsyncMessageStore",
    "TAsyncUow",
    "TSyncMessageStore",
    "TSyncUow",
    "TransactionError",
    "TransactionStatus",
    "run_without_loop",
]

TRepositories = TypeVar(
    "TRepositories", bound=AsyncAbstractRepository[Any], covariant=True
)
TSyncRepositories = TypeVar(
    "TSyncRepositories", bound=SyncAbstractRepository[Any], covariant=True
)
TAsyncMessageStore = TypeVar(
    "TAsyncMessageStore",
    bound=AsyncAbstractMessageStoreRepository,
    default=AsyncAbstractMessageStoreRepository,
)
"""The message store type of an async unit of work (its second type parameter)."""
TSyncMessageStore = TypeVar(
    "TSyncMessageStore",
    bound=SyncAbstractMessageStoreRepository,
    default=SyncAbstractMessageStoreRepository,
)
"""The message store type of a sync unit of work (its second type parameter)."""

_REPOSITORY_TYPES: dict[type[Any], bool] = {}
"""Whether each type met among units of work's attributes is a repository."""


def is_repository_type(kind: type[Any]) -> bool:
    """Whether ``kind`` is a repository class; remembered in ``_REPOSITORY_TYPES``.

    Asked after every handler for each attribute of the unit of work: the
    callers look in ``_REPOSITORY_TYPES`` first and call this on a miss, so
    the ABC machinery runs once per type.
    """
    known = _REPOSITORY_TYPES[kind] = issubclass(kind, RepositoryBase)
    return known


_log = logging.getLogger("messagebus_django")

TResult = TypeVar("TResult")


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


def _rollback_failed(exc: BaseException, error: Exception) -> None:
    # Rolling back after the block raised failed too (an on_after_rollback
    # hook, say): the block's own exception goes on, the failure is told.
    _log.error("Rolling back after %r failed", exc, exc_info=error)
    exc.add_note(f"Then rolling the transaction back failed: {error!r}")


def _call_sync_hook(hook: Callable[[], Any]) -> None:
    # An AsyncDependency given to the sync bus: its hooks run with no loop.
    result = hook()
    if inspect.iscoroutine(result):
        run_without_loop(result)


class AsyncDependency(abc.ABC):
    """Base class of bus dependencies that want to know how the transaction ended.

    An abstract class, as in ``messagebus``: a subclass defines both methods.
    (As a listener, any object with these methods works.)
    """

    @abc.abstractmethod
    async def on_after_commit(self) -> None:
        """Called once the transaction has committed."""

    @abc.abstractmethod
    async def on_after_rollback(self) -> None:
        """Called once the transaction has rolled back."""


class SyncDependency(abc.ABC):
    """:class:`AsyncDependency` for the sync bus: plain methods."""

    @abc.abstractmethod
    def on_after_commit(self) -> None:
        """Called once the transaction has committed."""

    @abc.abstractmethod
    def on_after_rollback(self) -> None:
        """Called once the transaction has rolled back."""


class _UnitOfWorkBase:
    """What async and sync units of work share: their repositories."""

    _repository_base: ClassVar[type[RepositoryBase[Any]]] = RepositoryBase

    metrics_store: Any = SinkholeMetricsStore()
    """Where transactions and the bus report what they do (by default, nowhere)."""

    @classmethod
    def repository_classes(cls) -> dict[str, type[Any]]:
        """The repositories the class declares as annotations, by attribute name.

        Abstract ones included (a subclass or the caller gives the concrete
        one). Worked out once per class.
        """
        declared: dict[str, type[Any]] | None = cls.__dict__.get(
            "_declared_repositories"
        )
        if declared is None:
            declared = {
                name: hint
                for name, hint in get_type_hints(cls).items()
                if isinstance(hint, type) and issubclass(hint, cls._repository_base)
            }
            # Set on this very class: a subclass works out its own.
            type.__setattr__(cls, "_declared_repositories", declared)
        return declared

    def iter_repositories(self) -> Iterator[Any]:
        """The repositories of this unit of work (its repository attributes)."""
        for member in vars(self).values():
            kind = type(member)
            is_repository = _REPOSITORY_TYPES.get(kind)
            if is_repository is None:
                is_repository = is_repository_type(kind)
            if is_repository:
                yield member

    def collect_new_events(self) -> Iterator[Message[Any]]:
        """Take the events raised by the models the repositories have seen."""
        for repository in self.iter_repositories():
            seen = repository.seen
            while seen:
                model = seen.pop(0)
                messages = model.messages
                while messages:
                    yield messages.pop(0)

    def defer_handler(
        self, event: Message[Any], handler: Callable[..., Any], options: Any
    ) -> None:
        """Have ``handler`` run later, in the background, for ``event``.

        The bus calls it for a handler marked ``background=True`` instead of
        calling the handler. ``options`` are its
        :class:`~messagebus_django.core.handlers.Background` options. This unit
        of work has no background to run it in: a :class:`ConfigurationError`.
        The Django unit of work enqueues a task (see
        :mod:`messagebus_django.background`).
        """
        name = getattr(handler, "__qualname__", repr(handler))
        raise ConfigurationError(
            f"{getattr(handler, '__module__', '?')}.{name} is a background "
            f"handler, and the unit of work {type(self).__qualname__} cannot run "
            "it in the background: dispatch the command with "
            "messagebus_django.dispatch() (a DjangoUnitOfWork enqueues it as a "
            "Django task), or override defer_handler()"
        )

    # Leaving its block, a unit of work forgets its transaction: the
    # transaction refers to the unit of work, and keeping it would be a
    # reference cycle per transaction, garbage only the cyclic collector frees.

    def _began(self, transaction: Any) -> None:
        # transaction.__aenter__() / __enter__(), without one more call (and
        # for the async one, one more coroutine): a new transaction is
        # running, and the default metrics store counts nothing.
        self._transaction = transaction
        store = self.metrics_store
        if type(store) is not SinkholeMetricsStore:
            store.inc_beginned_transaction_count()

    def _left(self, exc: BaseException | None) -> Any:
        """The transaction whose block ended, or ``None`` if it closed here.

        The common end, a committed block, is the transaction's ``_closed()``
        done here, without one more call; the others are left to the
        transaction's own ``__aexit__`` / ``__exit__``.
        """
        transaction = self.__dict__.pop("_transaction", None)
        if transaction is None:
            # A block left twice: as closing a transaction twice.
            raise TransactionError("Cannot close it twice: Transaction is closed.")
        if exc is None and transaction.status is _COMMITTED:
            store = self.metrics_store
            if type(store) is not SinkholeMetricsStore:
                store.inc_transaction_closed_count(transaction.status)
            transaction.status = _CLOSED
            return None
        return transaction

    def _forget_seen(self) -> None:
        # Models a failed handler left seen must not have their events handled
        # by the next transaction of this unit of work.
        for repository in self.iter_repositories():
            repository.seen.clear()


class AsyncAbstractUnitOfWork(
    _UnitOfWorkBase,
    abc.ABC,
    Generic[TRepositories, TAsyncMessageStore, TMetricsStore],
):
    """A business transaction over some repositories.

    Subclasses set their repositories as instance attributes and implement
    :meth:`commit` and :meth:`rollback`. Type parameters: the repositories,
    the message store, the metrics store (the last two optional).
    """

    _repository_base = AsyncAbstractRepository

    messagestore: TAsyncMessageStore = AsyncSinkholeMessageStoreRepository()  # type: ignore[assignment]
    """Where every handled message is recorded (by default, nowhere)."""
    metrics_store: TMetricsStore = SinkholeMetricsStore()  # type: ignore[assignment]
    """Where transactions and the bus report what they do (by default, nowhere)."""

    @abc.abstractmethod
    async def commit(self) -> None:
        """Commit the transaction."""

    @abc.abstractmethod
    async def rollback(self) -> None:
        """Roll the transaction back."""

    async def run_after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` once the transaction is durably committed.

        :meth:`commit` has committed when this is called, so the default runs
        it at once; a unit of work whose commit happens later (a Django
        ``atomic`` block) defers it.
        """
        await callback()

    async def __aenter__(self) -> AsyncUnitOfWorkTransaction[Self]:
        transaction = AsyncUnitOfWorkTransaction(self)
        self._began(transaction)
        return transaction

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        transaction = self._left(exc)
        if transaction is not None:
            await transaction.__aexit__(exc_type, exc, tb)


class SyncAbstractUnitOfWork(
    _UnitOfWorkBase,
    abc.ABC,
    Generic[TSyncRepositories, TSyncMessageStore, TMetricsStore],
):
    """:class:`AsyncAbstractUnitOfWork` for the sync bus: ``with uow as transaction``."""

    _repository_base = SyncAbstractRepository

    messagestore: TSyncMessageStore = SyncSinkholeMessageStoreRepository()  # type: ignore[assignment]
    """Where every handled message is recorded (by default, nowhere)."""
    metrics_store: TMetricsStore = SinkholeMetricsStore()  # type: ignore[assignment]
    """Where transactions and the bus report what they do (by default, nowhere)."""

    @abc.abstractmethod
    def commit(self) -> None:
        """Commit the transaction."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Roll the transaction back."""

    def run_after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction is durably committed (at once here)."""
        callback()

    def __enter__(self) -> SyncUnitOfWorkTransaction[Self]:
        transaction = SyncUnitOfWorkTransaction(self)
        self._began(transaction)
        return transaction

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        transaction = self._left(exc)
        if transaction is not None:
            transaction.__exit__(exc_type, exc, tb)


TAsyncUow = TypeVar(
    "TAsyncUow",
    bound=AsyncAbstractUnitOfWork[Any, Any, Any],
    default=AsyncAbstractUnitOfWork[Any, Any, Any],
)
"""A unit of work type; what :class:`AsyncMessageBus` is generic over."""
TSyncUow = TypeVar(
    "TSyncUow",
    bound=SyncAbstractUnitOfWork[Any, Any, Any],
    default=SyncAbstractUnitOfWork[Any, Any, Any],
)
"""A sync unit of work type; what :class:`SyncMessageBus` is generic over."""
# A handler typed for the abstract unit of work accepts the transaction of a
# concrete one: the transaction is covariant in its unit of work.
TAsyncUow_co = TypeVar(
    "TAsyncUow_co",
    bound=AsyncAbstractUnitOfWork[Any, Any, Any],
    default=AsyncAbstractUnitOfWork[Any, Any, Any],
    covariant=True,
)
TSyncUow_co = TypeVar(
    "TSyncUow_co",
    bound=SyncAbstractUnitOfWork[Any, Any, Any],
    default=SyncAbstractUnitOfWork[Any, Any, Any],
    covariant=True,
)

_ENDABLE = (TransactionStatus.running, TransactionStatus.streaming)
# The states the common path sets and compares, looked up once: an Enum
# member read from its class costs a lookup through the enum machinery.
_RUNNING = TransactionStatus.running
_COMMITTED = TransactionStatus.committed
_CLOSED = TransactionStatus.closed


_TUow_co = TypeVar("_TUow_co", covariant=True)

_RESERVED_NAMES: dict[type[Any], frozenset[str]] = {}


def _reserved_names(kind: type[Any]) -> frozenset[str]:
    """The names a transaction class answers itself; remembered per class."""
    names = _RESERVED_NAMES.get(kind)
    if names is None:
        names = _RESERVED_NAMES[kind] = frozenset(
            {*dir(kind), "uow", "status", "_listeners"}
        )
    return names


class _TransactionBase(Generic[_TUow_co]):
    """State checks and messages the async and sync transactions share."""

    status: TransactionStatus
    uow: _TUow_co

    def __init__(self, uow: _TUow_co) -> None:
        self.uow = uow
        self.status = _RUNNING
        self._listeners: list[Any] = []
        # Handlers reach the repositories through the transaction: the unit of
        # work's repositories (those it holds now) become attributes of the
        # transaction itself, a plain lookup where __getattr__ (below, for the
        # rest) would first fail one. A name the transaction has is left alone.
        members = getattr(uow, "__dict__", None)
        if members:
            own = self.__dict__
            reserved = _RESERVED_NAMES.get(type(self)) or _reserved_names(type(self))
            for name, member in members.items():
                kind = type(member)
                is_repository = _REPOSITORY_TYPES.get(kind)
                if is_repository is None:
                    is_repository = is_repository_type(kind)
                if is_repository and name not in reserved and name not in own:
                    own[name] = member

    def __getattr__(self, name: str) -> Any:
        # The unit of work's other attributes, through the transaction.
        if name == "uow":  # not set yet: no endless recursion
            raise AttributeError(name)
        return getattr(self.uow, name)

    @property
    def metrics_store(self) -> AbstractMetricsStore:
        """The unit of work's metrics store."""
        uow: Any = self.uow
        store: AbstractMetricsStore = uow.metrics_store
        return store

    def add_listener(self, listener: Any) -> Any:
        """Call ``listener.on_after_commit()`` / ``on_after_rollback()`` at the end."""
        if not any(known is listener for known in self._listeners):
            self._listeners.append(listener)
        return listener

    def _check_can_end(self, verb: str) -> None:
        if self.status not in _ENDABLE:
            raise TransactionError(
                f"Cannot {verb}: Transaction already closed ({self.status.value})."
            )

    def _check_can_enter(self) -> None:
        if self.status is not TransactionStatus.running:
            raise TransactionError(
                f"Cannot enter a transaction that is {self.status.value}: "
                "Invalid transaction status."
            )
        store = self.metrics_store
        if type(store) is not SinkholeMetricsStore:  # the default does nothing
            store.inc_beginned_transaction_count()

    def _check_can_detach(self) -> None:
        if self.status is not TransactionStatus.running:
            raise TransactionError(
                f"Cannot detach: the transaction is {self.status.value}."
            )

    def _check_can_close(self) -> None:
        if self.status is TransactionStatus.closed:
            raise TransactionError("Cannot close it twice: Transaction is closed.")
        if self.status is TransactionStatus.running:
            raise TransactionError(
                "Cannot close a running transaction: call commit() or rollback() "
                "first. Transaction must be explicitly close. Missing commit/rollback "
                "call."
            )

    def _left_open(self) -> None:
        self.status = TransactionStatus.closed
        raise TransactionError(
            "The transaction was left open and has been rolled back: call commit() "
            "or rollback() before the end of its block. Transaction must be "
            "explicitly close. Missing commit/rollback call."
        )

    def _closed(self) -> None:
        store = self.metrics_store
        if type(store) is not SinkholeMetricsStore:  # the default does nothing
            store.inc_transaction_closed_count(self.status)
        self.status = TransactionStatus.closed

    def _hooks(self, name: str) -> Iterator[Callable[[], Any]]:
        """The listeners' ``on_after_commit`` or ``on_after_rollback``, in order."""
        for listener in self._listeners:
            hook = getattr(listener, name, None)
            if hook is not None:
                yield hook

    def _rolled_back(
        self,
        messagestore: AsyncAbstractMessageStoreRepository
        | SyncAbstractMessageStoreRepository,
    ) -> None:
        """After the unit of work rolled back: the kept events and ids go."""
        self.status = TransactionStatus.rolledback
        messagestore.discard_eventstream()
        cast("_UnitOfWorkBase", self.uow)._forget_seen()


class AsyncUnitOfWorkTransaction(_TransactionBase[TAsyncUow_co], Generic[TAsyncUow_co]):
    """One transaction of a unit of work; what service handlers receive.

    ``transaction.books`` is the unit of work's ``books`` repository: the
    repositories the unit of work holds when the transaction begins are
    attributes of the transaction, and other attribute reads fall through to
    the unit of work. For the type checker, ``transaction.uow`` is the unit
    of work, typed.
    """

    uow: TAsyncUow_co
    """The unit of work of this transaction."""

    @property
    def messagestore(self) -> AsyncAbstractMessageStoreRepository:
        """The unit of work's message store."""
        store: AsyncAbstractMessageStoreRepository = self.uow.messagestore
        return store

    async def commit(self) -> None:
        """Commit; then publish the event stream and call the listeners."""
        if self.status not in _ENDABLE:
            self._check_can_end("commit")
        await self.uow.commit()
        self.status = _COMMITTED
        if self._listeners or self.uow.messagestore.stream_buffer:
            await self.uow.run_after_commit(self._after_commit)

    async def _after_commit(self) -> None:
        await self.uow.messagestore.publish_eventstream()
        for hook in self._hooks("on_after_commit"):
            await hook()

    async def rollback(self) -> None:
        """Roll back; the kept events are dropped and the listeners called."""
        self._check_can_end("roll back")
        await self._rollback()

    async def _rollback(self) -> None:
        await self.uow.rollback()
        self._rolled_back(self.uow.messagestore)
        for hook in self._hooks("on_after_rollback"):
            await hook()

    async def detach(self) -> None:
        """Keep the transaction open after the ``async with`` block (streaming).

        Call :meth:`close` when the stream ends.
        """
        self._check_can_detach()
        self.status = TransactionStatus.streaming

    async def close(self) -> None:
        """End a transaction; a detached one not committed is rolled back."""
        if self.status is TransactionStatus.streaming:
            await self._rollback()
        self._check_can_close()
        self._closed()

    async def __aenter__(self) -> Self:
        self._check_can_enter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.metrics_store.inc_transaction_failed()
            # Committed included: the block failed after commit(), and a unit
            # of work whose commit is deferred (Django) must not keep it.
            if self.status is not TransactionStatus.rolledback:
                try:
                    await self._rollback()
                except Exception as error:
                    _rollback_failed(exc, error)
            self.metrics_store.inc_transaction_closed_count(self.status)
            return
        if self.status is TransactionStatus.streaming:
            return
        if self.status is TransactionStatus.running:
            # Never let an unended transaction commit by accident.
            await self._rollback()
            self._left_open()
        self._check_can_close()
        self._closed()


class SyncUnitOfWorkTransaction(_TransactionBase[TSyncUow_co], Generic[TSyncUow_co]):
    """:class:`AsyncUnitOfWorkTransaction` of a sync unit of work."""

    uow: TSyncUow_co
    """The unit of work of this transaction."""

    @property
    def messagestore(self) -> SyncAbstractMessageStoreRepository:
        """The unit of work's message store."""
        store: SyncAbstractMessageStoreRepository = self.uow.messagestore
        return store

    def commit(self) -> None:
        """Commit; then publish the event stream and call the listeners."""
        if self.status not in _ENDABLE:
            self._check_can_end("commit")
        self.uow.commit()
        self.status = _COMMITTED
        if self._listeners or self.uow.messagestore.stream_buffer:
            self.uow.run_after_commit(self._after_commit)

    def _after_commit(self) -> None:
        self.uow.messagestore.publish_eventstream()
        for hook in self._hooks("on_after_commit"):
            _call_sync_hook(hook)

    def rollback(self) -> None:
        """Roll back; the kept events are dropped and the listeners called."""
        self._check_can_end("roll back")
        self._rollback()

    def _rollback(self) -> None:
        self.uow.rollback()
        self._rolled_back(self.uow.messagestore)
        for hook in self._hooks("on_after_rollback"):
            _call_sync_hook(hook)

    def detach(self) -> None:
        """Keep the transaction open after the ``with`` block (streaming)."""
        self._check_can_detach()
        self.status = TransactionStatus.streaming

    def close(self) -> None:
        """End a transaction; a detached one not committed is rolled back."""
        if self.status is TransactionStatus.streaming:
            self._rollback()
        self._check_can_close()
        self._closed()

    def __enter__(self) -> Self:
        self._check_can_enter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.metrics_store.inc_transaction_failed()
            if self.status is not TransactionStatus.rolledback:
                try:
                    self._rollback()
                except Exception as error:
                    _rollback_failed(exc, error)
            self.metrics_store.inc_transaction_closed_count(self.status)
            return
        if self.status is TransactionStatus.streaming:
            return
        if self.status is TransactionStatus.running:
            self._rollback()
            self._left_open()
        self._check_can_close()
        self._closed()
