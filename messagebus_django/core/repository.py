"""Repositories: where domain models and handled messages are stored."""

from __future__ import annotations

import abc
from collections.abc import MutableSequence
from typing import Any, Generic, TypeVar

from .eventstream import AsyncEventstreamPublisher, SyncEventstreamPublisher
from .messages import GenericModel, Message

__all__ = [
    "AsyncAbstractMessageStoreRepository",
    "AsyncAbstractRepository",
    "AsyncSinkholeMessageStoreRepository",
    "RepositoryBase",
    "SyncAbstractMessageStoreRepository",
    "SyncAbstractRepository",
    "SyncSinkholeMessageStoreRepository",
]

TModel = TypeVar("TModel", bound=GenericModel[Any])


class RepositoryBase(abc.ABC, Generic[TModel]):
    """What async and sync repositories share: the models they have seen.

    A repository appends every model it adds or loads for change to
    :attr:`seen`; the unit of work collects the events those models raised.
    """

    seen: MutableSequence[TModel]
    """Models touched in the current transaction."""

    def __init__(self) -> None:
        self.seen = []

    def __getattr__(self, name: str) -> Any:
        # A subclass that forgets super().__init__() must not silently lose
        # the events of the models it records.
        if name == "seen":
            self.seen = []
            return self.seen
        raise AttributeError(name)


class AsyncAbstractRepository(RepositoryBase[TModel]):
    """Base class of repositories whose methods are ``async def``."""


class SyncAbstractRepository(RepositoryBase[TModel]):
    """Base class of repositories whose methods are plain ``def`` (sync bus)."""


class AsyncAbstractMessageStoreRepository(abc.ABC):
    """Records every handled message; publishes the published ones on commit."""

    def __init__(self, publisher: AsyncEventstreamPublisher | None = None) -> None:
        self.publisher = publisher
        self.stream_buffer: list[Message[Any]] = []

    @abc.abstractmethod
    async def _add(self, message: Message[Any]) -> None:
        """Store ``message`` in the storage backend."""

    async def add(self, message: Message[Any]) -> None:
        """Store ``message`` and keep it for the event stream until commit."""
        await self._add(message)
        if self.publisher is not None and message.metadata.published:
            self.stream_buffer.append(message)

    async def publish_eventstream(self) -> None:
        """Send the messages kept since the last commit or rollback."""
        stream_buffer, self.stream_buffer = self.stream_buffer, []
        if self.publisher is None:
            return
        for message in stream_buffer:
            await self.publisher.send_message(message)

    def discard_eventstream(self) -> None:
        """Forget the kept messages: their transaction was rolled back."""
        self.stream_buffer = []


class AsyncSinkholeMessageStoreRepository(AsyncAbstractMessageStoreRepository):
    """A message store that keeps nothing: the default when none is set."""

    async def _add(self, message: Message[Any]) -> None:
        """Drop ``message``."""


class SyncAbstractMessageStoreRepository(abc.ABC):
    """:class:`AsyncAbstractMessageStoreRepository` for the sync bus."""

    def __init__(self, publisher: SyncEventstreamPublisher | None = None) -> None:
        self.publisher = publisher
        self.stream_buffer: list[Message[Any]] = []

    @abc.abstractmethod
    def _add(self, message: Message[Any]) -> None:
        """Store ``message`` in the storage backend."""

    def add(self, message: Message[Any]) -> None:
        """Store ``message`` and keep it for the event stream until commit."""
        self._add(message)
        if self.publisher is not None and message.metadata.published:
            self.stream_buffer.append(message)

    def publish_eventstream(self) -> None:
        """Send the messages kept since the last commit or rollback."""
        stream_buffer, self.stream_buffer = self.stream_buffer, []
        if self.publisher is None:
            return
        for message in stream_buffer:
            self.publisher.send_message(message)

    def discard_eventstream(self) -> None:
        """Forget the kept messages: their transaction was rolled back."""
        self.stream_buffer = []


class SyncSinkholeMessageStoreRepository(SyncAbstractMessageStoreRepository):
    """A sync message store that keeps nothing: the default when none is set."""

    def _add(self, message: Message[Any]) -> None:
        """Drop ``message``."""
