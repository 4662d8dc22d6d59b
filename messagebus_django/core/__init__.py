"""The core of the message bus: messages, handlers registry, unit of work.

Nothing in this package imports Django.
"""

from __future__ import annotations

from pydantic import Field

from .eventstream import (
    AbstractMessageSerializer,
    AsyncAbstractEventstreamTransport,
    AsyncEventstreamPublisher,
    AsyncSinkholeEventstreamTransport,
    DefaultMessageSerializer,
    SyncAbstractEventstreamTransport,
    SyncEventstreamPublisher,
    SyncSinkholeEventstreamTransport,
)
from .messages import (
    Command,
    Event,
    GenericCommand,
    GenericEvent,
    GenericModel,
    Message,
    Metadata,
    Model,
    TMetadata,
    message_type_name,
    uuid7,
)
from .observability import AbstractMetricsStore, SinkholeMetricsStore, TMetricsStore
from .registry import (
    AsyncMessageBus,
    ConfigurationError,
    MissingDependencyError,
    MissingHandlerError,
    Registration,
    SyncMessageBus,
    async_listen,
    listened_type,
    run_without_loop,
    sync_listen,
)
from .repository import (
    AsyncAbstractMessageStoreRepository,
    AsyncAbstractRepository,
    AsyncSinkholeMessageStoreRepository,
    SyncAbstractMessageStoreRepository,
    SyncAbstractRepository,
    SyncSinkholeMessageStoreRepository,
)
from .result import Err, Ok, Result, UnwrapError
from .transaction import TransactionError, TransactionStatus
from .unit_of_work import (
    AsyncAbstractUnitOfWork,
    AsyncDependency,
    AsyncUnitOfWorkTransaction,
    SyncAbstractUnitOfWork,
    SyncDependency,
    SyncUnitOfWorkTransaction,
    TAsyncMessageStore,
    TAsyncUow,
    TSyncMessageStore,
    TSyncUow,
)

MessageSerializer = DefaultMessageSerializer
"""``messagebus``'s name for :class:`DefaultMessageSerializer`."""

__all__ = [
    "AbstractMessageSerializer",
    "AbstractMetricsStore",
    "AsyncAbstractEventstreamTransport",
    "AsyncAbstractMessageStoreRepository",
    "AsyncAbstractRepository",
    "AsyncAbstractUnitOfWork",
    "AsyncDependency",
    "AsyncEventstreamPublisher",
    "AsyncMessageBus",
    "AsyncSinkholeEventstreamTransport",
    "AsyncSinkholeMessageStoreRepository",
    "AsyncUnitOfWorkTransaction",
    "Command",
    "ConfigurationError",
    "DefaultMessageSerializer",
    "Err",
    "Event",
    "Field",
    "GenericCommand",
    "GenericEvent",
    "GenericModel",
    "Message",
    "MessageSerializer",
    "Metadata",
    "MissingDependencyError",
    "MissingHandlerError",
    "Model",
    "Ok",
    "Registration",
    "Result",
    "SinkholeMetricsStore",
    "SyncAbstractEventstreamTransport",
    "SyncAbstractMessageStoreRepository",
    "SyncAbstractRepository",
    "SyncAbstractUnitOfWork",
    "SyncDependency",
    "SyncEventstreamPublisher",
    "SyncMessageBus",
    "SyncSinkholeEventstreamTransport",
    "SyncSinkholeMessageStoreRepository",
    "SyncUnitOfWorkTransaction",
    "TAsyncMessageStore",
    "TAsyncUow",
    "TMetadata",
    "TMetricsStore",
    "TSyncMessageStore",
    "TSyncUow",
    "TransactionError",
    "TransactionStatus",
    "UnwrapError",
    "async_listen",
    "listened_type",
    "message_type_name",
    "run_without_loop",
    "sync_listen",
    "uuid7",
]
