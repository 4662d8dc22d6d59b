"""messagebus_django: commands, events and a unit of work, native to Django.

The core names (messages, bus, unit of work) import no Django; the Django
layer's names are imported on first use, so ``messagebus_django.core`` stays
usable without settings.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from messagebus_django.core import (
    AbstractMessageSerializer,
    AbstractMetricsStore,
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
    MessageSerializer,
    Metadata,
    MissingDependencyError,
    MissingHandlerError,
    Model,
    Ok,
    Registration,
    Result,
    SinkholeMetricsStore,
    SyncAbstractEventstreamTransport,
    SyncAbstractMessageStoreRepository,
    SyncAbstractRepository,
    SyncAbstractUnitOfWork,
    SyncDependency,
    SyncEventstreamPublisher,
    SyncMessageBus,
    SyncSinkholeEventstreamTransport,
    SyncSinkholeMessageStoreRepository,
    SyncUnitOfWorkTransaction,
    TAsyncMessageStore,
    TAsyncUow,
    TMetadata,
    TMetricsStore,
    TransactionError,
    TransactionStatus,
    TSyncMessageStore,
    TSyncUow,
    UnwrapError,
    async_listen,
    message_type_name,
    sync_listen,
    uuid7,
)

# A model field's ``default=uuid7`` is written into migrations by where the
# function says it lives: make that its public home, not the core module.
uuid7.__module__ = __name__

if TYPE_CHECKING:
    from messagebus_django.dispatching.bus import get_bus
    from messagebus_django.dispatching.dispatcher import adispatch, dispatch
    from messagebus_django.dispatching.repositories import DjangoRepository
    from messagebus_django.dispatching.unit_of_work import DjangoUnitOfWork
    from messagebus_django.operations.prometheus import MetricsStore as MetricsStore

# The Django layer, and the Prometheus adapter (the ``prometheus`` extra),
# imported on first use (PEP 562).
_DJANGO_NAMES = {
    # Importable by name, but not in __all__: a star import must not need
    # the extra.
    "MetricsStore": "operations.prometheus",
    # messagebus's tests reach the adapter's metaclass by this name.
    "Singleton": "operations.prometheus",
    "DjangoRepository": "dispatching.repositories",
    "DjangoUnitOfWork": "dispatching.unit_of_work",
    "adispatch": "dispatching.dispatcher",
    "dispatch": "dispatching.dispatcher",
    "get_bus": "dispatching.bus",
}


def __getattr__(name: str) -> Any:
    module = _DJANGO_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


try:
    __version__ = version("messagebus-django")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0"

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
    "DjangoRepository",
    "DjangoUnitOfWork",
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
    "__version__",
    "adispatch",
    "async_listen",
    "dispatch",
    "get_bus",
    "message_type_name",
    "sync_listen",
    "uuid7",
]
