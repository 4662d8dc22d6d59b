"""The event stream in tests (Django): capture_events() and EventCapture."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import (
    TYPE_CHECKING,
    Any,
    TypeVar,
    cast,
)
from uuid import UUID

from messagebus_django.core import (
    Message,
    message_type_name,
)
from messagebus_django.core.messages import from_payload

if TYPE_CHECKING:
    from messagebus_django.eventstream.relay import RelayReport
    from messagebus_django.eventstream.transports import Envelope, InMemoryTransport


TMessage = TypeVar("TMessage", bound=Message[Any])


class EventCapture:
    """What the outbox relay sent through an in-memory transport.

    Inside a test's transaction, Django never runs ``on_commit`` callbacks, so
    the relay that sends a command's published events right after it commits
    does not run: :meth:`flush` runs a relay pass instead (or wrap the code in
    pytest-django's ``django_capture_on_commit_callbacks(execute=True)``).
    """

    def __init__(self, transport: InMemoryTransport) -> None:
        self.transport = transport

    @property
    def envelopes(self) -> list[Envelope]:
        """Every envelope sent, in order."""
        return self.transport.sent

    def flush(self) -> RelayReport:
        """Send what the outbox holds, as ``manage.py messagebus_relay`` would."""
        from messagebus_django.eventstream.relay import OutboxRelay

        return OutboxRelay(self.transport).relay_pending()

    def clear(self) -> None:
        """Send what the outbox holds, then forget everything sent so far."""
        self.flush()
        self.transport.sent.clear()

    def types(self) -> list[str]:
        """The wire type (``"<name>_v<version>"``) of each envelope sent, in order."""
        return [envelope.type for envelope in self.transport.sent]

    def ids(self) -> list[UUID]:
        """The message id of each envelope sent, in order."""
        return [envelope.id for envelope in self.transport.sent]

    def payloads(self, message_type: str | type[Message[Any]]) -> list[dict[str, Any]]:
        """The payloads sent for a wire type or message class, in order."""
        name = (
            message_type
            if isinstance(message_type, str)
            else message_type_name(message_type)
        )
        return [e.payload for e in self.transport.sent if e.type == name]

    def messages(self, message_type: type[TMessage]) -> list[TMessage]:
        """The envelopes of ``message_type`` read back into messages, in order.

        They compare equal to the events the handlers raised (message equality
        ignores id and timestamp); their ``message_id`` and ``created_at`` are
        the envelope's.
        """
        name = message_type_name(message_type)
        return [
            from_payload(
                message_type, e.payload, message_id=e.id, created_at=e.created_at
            )
            for e in self.transport.sent
            if e.type == name
        ]


@contextlib.contextmanager
def capture_events() -> Iterator[EventCapture]:
    """Send the event stream to an in-memory transport inside the block.

    Overrides ``MESSAGEBUS_TRANSPORTS["default"]`` with
    :class:`~messagebus_django.eventstream.transports.InMemoryTransport` and gives the
    :class:`EventCapture` of that transport, the one the relay uses.
    """
    from django.test import override_settings

    from messagebus_django.eventstream.transports import (
        InMemoryTransport,
        get_transport,
        reset_transport,
    )

    path = f"{InMemoryTransport.__module__}.{InMemoryTransport.__qualname__}"
    with override_settings(MESSAGEBUS_TRANSPORTS={"default": {"BACKEND": path}}):
        reset_transport()
        try:
            yield EventCapture(cast(InMemoryTransport, get_transport()))
        finally:
            reset_transport()
