"""messagebus_django: commands, events and a unit of work, native to Django.

The core names (messages, bus, unit of work) import no Django; the Django
layer's names are imported on first use, so ``messagebus_django.core`` stays
usable without settings.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .core import (
    AbstractMessageSerializer,
    AsyncAbstractEventstreamTransport,
    AsyncAbstractMessageStoreRepository,
    AsyncAbstractRepository,
    AsyncAbstractUnitOfWork,
    AsyncDependency,
    AsyncEventstreamPublisher,
    AsyncMessageBus,
    AsyncSinkholeEventstreamTransport,
    AsyncSinkholeMessageStoreRepository,
    AsyncUnitOfWorkTransaction,
    Command,
    ConfigurationError,
    DefaultMessageSerializer,
    Err,
    Event,
    Field,
    GenericCommand,
    GenericEvent,
    GenericModel,
    Message,
    Metadata,
    MissingDependencyError,
    MissingHandlerError,
    Model,
    Ok,
    Result,
    TMetadata,
    TransactionError,
    TransactionStatus,
    UnwrapError,
    async_listen,
    message_type_name,
    uuid7,
)

try:
    __version__ = version("messagebus-django")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0"

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
    "Result",
    "TMetadata",
    "TransactionError",
    "TransactionStatus",
    "UnwrapError",
    "__version__",
    "async_listen",
    "message_type_name",
    "uuid7",
]
