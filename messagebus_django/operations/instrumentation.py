"""The metrics store that tells the Django layer's signals of each handled message.

Apart from :mod:`messagebus_django.operations.metrics` because the testing kit uses it
too, and must import no more of Django than ``django.dispatch``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from messagebus_django import signals
from messagebus_django.core import GenericCommand, Message, Metadata, TransactionStatus
from messagebus_django.core.observability import AbstractMetricsStore

__all__ = ["SignallingMetricsStore"]


class SignallingMetricsStore(AbstractMetricsStore):
    """A metrics store that passes everything on to ``inner``, and tells signals.

    :meth:`observe_message` sends
    :data:`~messagebus_django.signals.message_handled` (when someone listens):
    the one place the Django layer learns of each handled message, through the
    core's own metrics port instead of a patched bus.
    """

    def __init__(self, inner: AbstractMetricsStore) -> None:
        self.inner = inner

    @property
    def idle(self) -> bool:
        """Idle when the wrapped store is and nobody listens to ``message_handled``."""
        return (
            type(self) is SignallingMetricsStore
            and self.inner.idle
            and not signals.message_handled.receivers
        )

    def inc_beginned_transaction_count(self) -> None:
        self.inner.inc_beginned_transaction_count()

    def inc_transaction_failed(self) -> None:
        self.inner.inc_transaction_failed()

    def inc_transaction_closed_count(self, status: TransactionStatus) -> None:
        self.inner.inc_transaction_closed_count(status)

    def inc_messages_processed_total(self, msg_metadata: Metadata) -> None:
        self.inner.inc_messages_processed_total(msg_metadata)

    @contextmanager
    def command_processing_timer(self, command: GenericCommand[Any]) -> Iterator[None]:
        with self.inner.command_processing_timer(command):
            yield

    def observe_message(self, message: Message[Any]) -> None:
        if signals.message_handled.receivers:
            signals.message_handled.send(type(message), message=message)
        self.inner.observe_message(message)

    def observe_dispatch(
        self, command_type: str, outcome: str, seconds: float, handled: Iterable[str]
    ) -> None:
        self.inner.observe_dispatch(command_type, outcome, seconds, handled)

    def observe_relay(
        self,
        sent: Iterable[tuple[str, datetime, datetime]],
        failed: Iterable[str],
        dead: Iterable[str],
        backlog: int | None,
    ) -> None:
        self.inner.observe_relay(sent, failed, dead, backlog)
