"""The event stream: serializing published events and sending them out."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from messagebus_django.core.messages import ENVELOPE_FIELDS, Message, message_type_name

__all__ = [
    "AbstractMessageSerializer",
    "AsyncAbstractEventstreamTransport",
    "AsyncEventstreamPublisher",
    "AsyncSinkholeEventstreamTransport",
    "DefaultMessageSerializer",
    "SyncAbstractEventstreamTransport",
    "SyncEventstreamPublisher",
    "SyncSinkholeEventstreamTransport",
    "wire_envelope",
]


def wire_envelope(
    *, message_id: UUID, created_at: datetime, type: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """The one wire format of a published event, in process and on a broker.

    ``{"id", "created_at", "type": "<name>_v<version>", "payload": {...}}``:
    the payload is a JSON object of the message's own fields (not its id,
    timestamp or metadata), never JSON text inside JSON.
    """
    return {
        "id": str(message_id),
        "created_at": created_at.isoformat(),
        "type": type,
        "payload": dict(payload),
    }


class AbstractMessageSerializer(abc.ABC):
    """Turns a message into the mapping a transport sends."""

    @abc.abstractmethod
    def serialize_message(self, message: Message[Any]) -> Mapping[str, Any]:
        """Serialize ``message``."""


class DefaultMessageSerializer(AbstractMessageSerializer):
    """``messagebus``'s serialization, for :class:`AsyncEventstreamPublisher`.

    ``{"id", "created_at", "type", "payload"}`` as :func:`wire_envelope`, but
    with ``payload`` the JSON text of the message's own fields, as
    ``messagebus``'s ``MessageSerializer`` sends it to a transport of its
    publisher. The outbox's broker messages, the Tasks transport and the
    background tasks carry :func:`wire_envelope` (``payload`` an object).
    """

    def serialize_message(self, message: Message[Any]) -> Mapping[str, Any]:
        return {
            "id": str(message.message_id),
            "created_at": message.created_at.isoformat(),
            "type": message_type_name(message),
            "payload": message.model_dump_json(exclude=set(ENVELOPE_FIELDS)),
        }


class AsyncAbstractEventstreamTransport(abc.ABC):
    """Sends serialized messages to the outside world (a broker, a log...)."""

    @abc.abstractmethod
    async def send_message_serialized(self, message: Mapping[str, Any]) -> None:
        """Send one serialized message."""


class AsyncSinkholeEventstreamTransport(AsyncAbstractEventstreamTransport):
    """A transport that drops everything: the default when none is set."""

    async def send_message_serialized(self, message: Mapping[str, Any]) -> None:
        """Drop ``message``."""


class AsyncEventstreamPublisher:
    """Publishes the messages whose metadata says ``published=True``."""

    def __init__(
        self,
        transport: AsyncAbstractEventstreamTransport,
        serializer: AbstractMessageSerializer | None = None,
    ) -> None:
        self.transport = transport
        self.serializer = serializer or DefaultMessageSerializer()

    async def send_message(self, message: Message[Any]) -> None:
        """Serialize and send ``message`` if it is published; ignore it otherwise."""
        if not message.metadata.published:
            return
        await self.transport.send_message_serialized(
            self.serializer.serialize_message(message)
        )


class SyncAbstractEventstreamTransport(abc.ABC):
    """:class:`AsyncAbstractEventstreamTransport` for the sync bus."""

    @abc.abstractmethod
    def send_message_serialized(self, message: Mapping[str, Any]) -> None:
        """Send one serialized message."""


class SyncSinkholeEventstreamTransport(SyncAbstractEventstreamTransport):
    """A sync transport that drops everything: the default when none is set."""

    def send_message_serialized(self, message: Mapping[str, Any]) -> None:
        """Drop ``message``."""


class SyncEventstreamPublisher:
    """:class:`AsyncEventstreamPublisher` for the sync bus."""

    def __init__(
        self,
        transport: SyncAbstractEventstreamTransport,
        serializer: AbstractMessageSerializer | None = None,
    ) -> None:
        self.transport = transport
        self.serializer = serializer or DefaultMessageSerializer()

    def send_message(self, message: Message[Any]) -> None:
        """Serialize and send ``message`` if it is published; ignore it otherwise."""
        if not message.metadata.published:
            return
        self.transport.send_message_serialized(
            self.serializer.serialize_message(message)
        )
