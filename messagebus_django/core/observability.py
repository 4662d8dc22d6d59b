"""The metrics port: what a unit of work and a bus report, and to whom.

A unit of work carries a ``metrics_store``; its transactions and the bus call
the store's methods as work happens. The default store does nothing; the
``prometheus`` extra provides :class:`messagebus_django.MetricsStore`.

The five abstract methods are ``messagebus``'s, so a store written for it
works here. The Django layer reports what only it knows (how a ``dispatch()``
ended, what the relay did) to the same store through the two methods with
do-nothing defaults, :meth:`AbstractMetricsStore.observe_dispatch` and
:meth:`AbstractMetricsStore.observe_relay`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from typing_extensions import TypeVar

from messagebus_django.core.messages import GenericCommand, Message, Metadata
from messagebus_django.core.transaction import TransactionStatus

__all__ = ["AbstractMetricsStore", "SinkholeMetricsStore", "TMetricsStore"]


class AbstractMetricsStore(abc.ABC):
    """Receives what units of work and buses report.

    Every method is called on the hot path of a command: keep them cheap.
    """

    @property
    def idle(self) -> bool:
        """Whether the store would do nothing now: a bus then skips calling it
        for the messages of one ``handle`` (asked once, at its start)."""
        return False

    @abc.abstractmethod
    def inc_beginned_transaction_count(self) -> None:
        """A transaction started (``async with uow`` / ``with uow``)."""

    @abc.abstractmethod
    def inc_transaction_failed(self) -> None:
        """An exception left a transaction's block; it is rolled back."""

    @abc.abstractmethod
    def inc_transaction_closed_count(self, status: TransactionStatus) -> None:
        """A transaction ended ``committed`` or ``rolledback``."""

    @abc.abstractmethod
    def inc_messages_processed_total(self, msg_metadata: Metadata) -> None:
        """The bus took a message (command or event) to handle."""

    @abc.abstractmethod
    @contextmanager
    def command_processing_timer(self, command: GenericCommand[Any]) -> Iterator[None]:
        """Measure the handling of ``command`` and the events it causes."""

    # Not abstract: a store written for messagebus lacks them, and works.
    def observe_dispatch(  # noqa: B027
        self, command_type: str, outcome: str, seconds: float, handled: Iterable[str]
    ) -> None:
        """A ``dispatch()`` ended (Django layer); by default, nothing is kept.

        ``outcome`` is ``committed``, ``rolled_back`` (an ``Err``) or
        ``failed`` (a handler raised); ``handled`` holds the wire names of the
        messages a committed dispatch handled; ``seconds`` includes the
        transaction.
        """

    def observe_message(self, message: Message[Any]) -> None:  # noqa: B027
        """The bus is done with ``message`` and its handlers; by default, nothing.

        Called once per handled message, in order, after the message store got
        it: the Django layer tells its ``message_handled`` signal from here,
        and the testing kit records what was handled.
        """

    def observe_relay(  # noqa: B027
        self,
        sent: Iterable[tuple[str, datetime, datetime]],
        failed: Iterable[str],
        dead: Iterable[str],
        backlog: int | None,
    ) -> None:
        """One relay pass (Django layer); by default, nothing is kept.

        ``sent`` holds (wire name, created at, acknowledged at); ``failed``
        and ``dead`` the wire names refused, and given up; ``backlog`` the
        published events still waiting, when counted.
        """


class SinkholeMetricsStore(AbstractMetricsStore):
    """A metrics store that keeps nothing: the default of every unit of work."""

    @property
    def idle(self) -> bool:
        """Idle, unless a subclass may do something after all."""
        return type(self) is SinkholeMetricsStore

    def inc_beginned_transaction_count(self) -> None:
        """Do nothing."""

    def inc_transaction_failed(self) -> None:
        """Do nothing."""

    def inc_transaction_closed_count(self, status: TransactionStatus) -> None:
        """Do nothing."""

    def inc_messages_processed_total(self, msg_metadata: Metadata) -> None:
        """Do nothing."""

    @contextmanager
    def command_processing_timer(self, command: GenericCommand[Any]) -> Iterator[None]:
        """Measure nothing."""
        yield


TMetricsStore = TypeVar(
    "TMetricsStore", bound=AbstractMetricsStore, default=AbstractMetricsStore
)
"""The metrics store type of a unit of work (its third type parameter)."""
