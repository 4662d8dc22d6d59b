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
from .registry import (
    AsyncMessageBus,
    ConfigurationError,
    MissingDependencyError,
    MissingHandlerError,
    Registration,
    async_listen,
    listened_type,
    run_without_loop,
    sync_listen,
)
from .repository import (
    AsyncAbstractMessageStoreRepository,
    AsyncAbstractRepository,
    AsyncSinkholeMessageStoreRepository,
)
from .result import Err, Ok, Result, UnwrapError
from .unit_of_work import (
    AsyncAbstractUnitOfWork,
    AsyncDependency,
    AsyncUnitOfWorkTransaction,
    TransactionError,
    TransactionStatus,
)

__all__ = [
    "AbstractMessageSerializer",
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
    "Metadata",
    "MissingDependencyError",
    "MissingHandlerError",
    "Model",
    "Ok",
    "Registration",
    "Result",
    "TMetadata",
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
