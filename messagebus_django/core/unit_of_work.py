"""The unit of work and its transaction.

``async with uow as transaction`` gives an :class:`AsyncUnitOfWorkTransaction`
that must be explicitly committed or rolled back before the block ends;
leaving it open is a :class:`TransactionError`, and an exception inside the
block rolls it back.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar, get_type_hints

from .messages import Message
from .repository import (
    AsyncAbstractMessageStoreRepository,
    AsyncAbstractRepository,
    AsyncSinkholeMessageStoreRepository,
)

__all__ = [
    "AsyncAbstractUnitOfWork",
    "AsyncDependency",
    "AsyncUnitOfWorkTransaction",
    "TransactionError",
    "TransactionStatus",
]

TRepositories = TypeVar("TRepositories", bound=AsyncAbstractRepository[Any])

_REPOSITORY_TYPES: dict[type[Any], bool] = {}


class TransactionStatus(enum.Enum):
    """Where a transaction is in its life."""

    running = "running"
    committed = "committed"
    rolledback = "rolledback"
    streaming = "streaming"
    closed = "closed"


class TransactionError(RuntimeError):
    """A transaction was used out of order (closed twice, never ended...)."""


class AsyncDependency:
    """Base class of bus dependencies that want to know how the transaction ended.

    Any object with these methods works; this class only documents them.
    """

    async def on_after_commit(self) -> None:
        """Called once the transaction has committed."""

    async def on_after_rollback(self) -> None:
        """Called once the transaction has rolled back."""


class AsyncAbstractUnitOfWork(abc.ABC, Generic[TRepositories]):
    """A business transaction over some repositories.

    Subclasses set their repositories as instance attributes and implement
    :meth:`commit` and :meth:`rollback`.
    """

    messagestore: AsyncAbstractMessageStoreRepository = (
        AsyncSinkholeMessageStoreRepository()
    )
    """Where every handled message is recorded (by default, nowhere)."""

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

    @classmethod
    def repository_classes(cls) -> dict[str, type[AsyncAbstractRepository[Any]]]:
        """The repositories the class declares as annotations, by attribute name.

        Abstract ones included (a subclass or the caller gives the concrete
        one). Worked out once per class.
        """
        declared: dict[str, type[AsyncAbstractRepository[Any]]] | None = (
            cls.__dict__.get("_declared_repositories")
        )
        if declared is None:
            declared = {
                name: hint
                for name, hint in get_type_hints(cls).items()
                if isinstance(hint, type) and issubclass(hint, AsyncAbstractRepository)
            }
            # Set on this very class: a subclass works out its own.
            type.__setattr__(cls, "_declared_repositories", declared)
        return declared

    def iter_repositories(self) -> Iterator[AsyncAbstractRepository[Any]]:
        """The repositories of this unit of work."""
        for member in vars(self).values():
            # Called after every handler: remember the answer per type
            # instead of asking the ABC machinery each time.
            kind = type(member)
            is_repository = _REPOSITORY_TYPES.get(kind)
            if is_repository is None:
                is_repository = _REPOSITORY_TYPES[kind] = issubclass(
                    kind, AsyncAbstractRepository
                )
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

    async def __aenter__(self) -> AsyncUnitOfWorkTransaction[TRepositories]:
        transaction = AsyncUnitOfWorkTransaction(self)
        self._transaction = transaction
        return await transaction.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._transaction.__aexit__(exc_type, exc, tb)


class AsyncUnitOfWorkTransaction(Generic[TRepositories]):
    """One transaction of a unit of work; what service handlers receive.

    Attribute access falls through to the unit of work, so
    ``transaction.books`` is the unit of work's ``books`` repository.
    """

    def __init__(self, uow: AsyncAbstractUnitOfWork[TRepositories]) -> None:
        self.uow = uow
        self.status = TransactionStatus.running
        self._listeners: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.uow, name)

    @property
    def messagestore(self) -> AsyncAbstractMessageStoreRepository:
        return self.uow.messagestore

    def add_listener(self, listener: Any) -> Any:
        """Call ``listener.on_after_commit()`` / ``on_after_rollback()`` at the end."""
        if not any(known is listener for known in self._listeners):
            self._listeners.append(listener)
        return listener

    async def commit(self) -> None:
        """Commit; then publish the event stream and call the listeners."""
        if self.status not in (TransactionStatus.running, TransactionStatus.streaming):
            raise TransactionError(
                f"Cannot commit: the transaction is {self.status.value}."
            )
        await self.uow.commit()
        self.status = TransactionStatus.committed
        if self._listeners or self.uow.messagestore.stream_buffer:
            await self.uow.run_after_commit(self._after_commit)

    async def _after_commit(self) -> None:
        await self.uow.messagestore.publish_eventstream()
        for listener in self._listeners:
            hook = getattr(listener, "on_after_commit", None)
            if hook is not None:
                await hook()

    async def rollback(self) -> None:
        """Roll back; the kept events are dropped and the listeners called."""
        if self.status not in (TransactionStatus.running, TransactionStatus.streaming):
            raise TransactionError(
                f"Cannot roll back: the transaction is {self.status.value}."
            )
        await self.uow.rollback()
        self.status = TransactionStatus.rolledback
        self.uow.messagestore.discard_eventstream()
        # Models a failed handler left seen must not have their events handled
        # by the next transaction of this unit of work.
        for repository in self.uow.iter_repositories():
            repository.seen.clear()
        for listener in self._listeners:
            hook = getattr(listener, "on_after_rollback", None)
            if hook is not None:
                await hook()

    async def detach(self) -> None:
        """Keep the transaction open after the ``async with`` block (streaming).

        Call :meth:`close` when the stream ends.
        """
        if self.status is not TransactionStatus.running:
            raise TransactionError(
                f"Cannot detach: the transaction is {self.status.value}."
            )
        self.status = TransactionStatus.streaming

    async def close(self) -> None:
        """End a transaction; a detached one not committed is rolled back."""
        if self.status is TransactionStatus.streaming:
            await self.rollback()
        self._close()

    def _close(self) -> None:
        if self.status is TransactionStatus.closed:
            raise TransactionError("The transaction is already closed.")
        if self.status is TransactionStatus.running:
            raise TransactionError(
                "The transaction is still running: call commit() or rollback() "
                "before close()."
            )
        self.status = TransactionStatus.closed

    async def __aenter__(self) -> AsyncUnitOfWorkTransaction[TRepositories]:
        if self.status is not TransactionStatus.running:
            raise TransactionError(
                f"Cannot enter: the transaction is {self.status.value}."
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            if self.status in (TransactionStatus.running, TransactionStatus.streaming):
                await self.rollback()
            self.status = TransactionStatus.closed
            return
        if self.status is TransactionStatus.streaming:
            return
        if self.status is TransactionStatus.running:
            # Never let an unended transaction commit by accident.
            await self.rollback()
            self.status = TransactionStatus.closed
            raise TransactionError(
                "The transaction was left open and has been rolled back: call "
                "commit() or rollback() before the end of the 'async with' block."
            )
        self._close()
