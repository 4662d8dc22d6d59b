"""The Django message store: every handled message, in the command's transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from messagebus_django.core import (
    AsyncAbstractMessageStoreRepository,
    GenericCommand,
    Message,
    message_type_name,
)
from messagebus_django.core.messages import payload_of

__all__ = ["DjangoMessageStore", "envelope_fields", "tracing_headers"]


def envelope_fields(message: Message[Any]) -> dict[str, Any]:
    """The stored form of ``message`` (``StoredMessage`` fields)."""
    metadata = message.metadata
    return {
        "id": message.message_id,
        "type": message_type_name(message),
        "name": metadata.name,
        "schema_version": metadata.schema_version,
        "kind": "command" if isinstance(message, GenericCommand) else "event",
        "payload": payload_of(message),
        "created_at": message.created_at,
        "published": metadata.published,
        "headers": tracing_headers(message),
    }


def tracing_headers(message: Message[Any]) -> dict[str, str]:
    """The message's tracing ids, as the relay sends them in broker headers."""
    metadata = message.metadata
    headers = {}
    if metadata.correlation_id is not None:
        headers["correlation_id"] = str(metadata.correlation_id)
    if metadata.causation_id is not None:
        headers["causation_id"] = str(metadata.causation_id)
    return headers


class DjangoMessageStore(AsyncAbstractMessageStoreRepository):
    """Keeps the handled messages and writes them when the command ends well.

    The rows are written by :meth:`write`, on the thread that holds the
    ``atomic`` block, just before it commits: in one ``INSERT`` and with no
    thread hop per message. The published events among them form the outbox
    that the relay sends.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[Message[Any]] = []
        self.written: list[Message[Any]] = []
        """The messages of the last :meth:`write`."""
        self._rows: list[Any] = []
        self._ignored: set[UUID] = set()

    def ignore(self, message_id: UUID) -> None:
        """Do not record the message ``message_id``: a consumed one is already someone's."""
        self._ignored.add(message_id)

    async def _add(self, message: Message[Any]) -> None:
        if message.message_id not in self._ignored:
            self.pending.append(message)

    def discard_eventstream(self) -> None:
        super().discard_eventstream()
        self.pending = []

    @property
    def payloads(self) -> dict[UUID, dict[str, Any]]:
        """The stored payload of each message of the last :meth:`write`, by id.

        Background handlers' tasks carry the same: dumped once.
        """
        return {row.id: row.payload for row in self._rows}

    def write(self, using: str) -> list[UUID]:
        """Insert the kept messages; return the ids of the published ones."""
        from messagebus_django.models import StoredMessage

        pending, self.pending = self.pending, []
        self.written = pending
        self._rows = []
        if not pending:
            return []
        rows = self._rows = [
            StoredMessage(**envelope_fields(message)) for message in pending
        ]
        StoredMessage.objects.using(using).bulk_create(rows)
        return [row.id for row in rows if row.published]
