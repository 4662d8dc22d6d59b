"""The metrics port's Prometheus adapter, with the ``prometheus`` extra.

:class:`MetricsStore` keeps ``messagebus``'s metrics under the same names,
and the Django layer's (dispatch outcomes, the relay, the outbox backlog), on
one ``prometheus_client`` registry. It imports no Django.

``messagebus``'s metrics:

``messagebus_transactions_started_total``, ``messagebus_transactions_in_progress``
    Unit-of-work transactions started, and open now.
``messagebus_transactions_failed_total``
    Transactions an exception rolled back.
``messagebus_transactions_closed_total{status}``
    Transactions ended, ``committed`` or ``rolledback``.
``messagebus_messages_processed_total{name, version}``
    Messages the bus took to handle (commands and events).
``messagebus_command_processing_seconds{name, version}``
    Time the bus spent on a command and the events it caused.

The Django layer's:

``messagebus_dispatches_total{command, outcome}``, ``messagebus_dispatch_seconds{command}``
    ``dispatch()`` calls by outcome (``committed``, ``rolled_back``, ``failed``),
    and their duration, transaction included.
``messagebus_messages_handled_total{type}``
    Messages handled by committed dispatches.
``messagebus_relay_sent_total{type}``, ``messagebus_relay_failures_total{type}``,
``messagebus_relay_dead_total{type}``, ``messagebus_relay_lag_seconds``,
``messagebus_outbox_backlog``
    What the relay did with the outbox.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar

try:
    from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "messagebus_django.MetricsStore needs the 'prometheus' extra: "
        "pip install 'messagebus-django[prometheus]'"
    ) from exc

from messagebus_django.core import GenericCommand, Metadata, TransactionStatus
from messagebus_django.core.observability import AbstractMetricsStore

__all__ = ["DEFAULT_COMMAND_PROCESSING_SECONDS_BUCKETS", "MetricsStore", "Singleton"]

DEFAULT_COMMAND_PROCESSING_SECONDS_BUCKETS: tuple[float, ...] = tuple(
    0.01 * 2**power for power in range(10)
)
"""10 ms doubling up to about 5 s."""

_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, float("inf"))


class Singleton(abc.ABCMeta):
    """One store per registry: a registry refuses a second metric of a name.

    Calling the class again with the same ``registry`` gives the store made
    first; tests that make throw-away registries drop theirs from
    ``_instances``.
    """

    _instances: ClassVar[dict[tuple[type, int], Any]] = {}
    # Threads making the first store at once must not both register the
    # metrics (DuplicateTimeseries): check and set under one lock.
    _lock: ClassVar[threading.RLock] = threading.RLock()

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        registry = kwargs.get("registry") or REGISTRY
        key = (cls, id(registry))
        with Singleton._lock:
            instance = cls._instances.get(key)
            if instance is None:
                instance = cls._instances[key] = super().__call__(*args, **kwargs)
        return instance


class MetricsStore(AbstractMetricsStore, metaclass=Singleton):
    """Every metric of the bus, the unit of work and the relay, in Prometheus."""

    def __init__(
        self,
        *,
        registry: CollectorRegistry = REGISTRY,
        command_processing_seconds_buckets: Sequence[
            float | str
        ] = DEFAULT_COMMAND_PROCESSING_SECONDS_BUCKETS,
    ) -> None:
        def counter(name: str, help_text: str, *labels: str) -> Counter:
            return Counter(name, help_text, labels, registry=registry)

        self.registry = registry
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}
        self.transactions_started_total = counter(
            "messagebus_transactions_started_total",
            "Unit-of-work transactions started.",
        )
        self.transactions_in_progress = Gauge(
            "messagebus_transactions_in_progress",
            "Unit-of-work transactions open now.",
            registry=registry,
        )
        self.transactions_failed_total = counter(
            "messagebus_transactions_failed_total",
            "Unit-of-work transactions an exception rolled back.",
        )
        self.transactions_closed_total = counter(
            "messagebus_transactions_closed_total",
            "Unit-of-work transactions ended, by status.",
            "status",
        )
        self.messages_processed_total = counter(
            "messagebus_messages_processed_total",
            "Messages the bus took to handle.",
            "name",
            "version",
        )
        self.command_processing_seconds = Histogram(
            "messagebus_command_processing_seconds",
            "Time the bus spent on a command and the events it caused.",
            ["name", "version"],
            registry=registry,
            buckets=command_processing_seconds_buckets,
        )
        self.messages_handled_total = counter(
            "messagebus_messages_handled_total",
            "Messages handled by committed units of work.",
            "type",
        )
        self.dispatches_total = counter(
            "messagebus_dispatches_total",
            "Units of work by outcome.",
            "command",
            "outcome",
        )
        self.dispatch_seconds = Histogram(
            "messagebus_dispatch_seconds",
            "Duration of dispatch(), transaction included.",
            ["command"],
            registry=registry,
        )
        self.relay_sent_total = counter(
            "messagebus_relay_sent_total", "Outbox messages sent.", "type"
        )
        self.relay_failures_total = counter(
            "messagebus_relay_failures_total",
            "Outbox messages the broker refused (retried later).",
            "type",
        )
        self.relay_dead_total = counter(
            "messagebus_relay_dead_total",
            "Outbox messages given up after too many refusals.",
            "type",
        )
        self.relay_lag_seconds = Histogram(
            "messagebus_relay_lag_seconds",
            "From a message's creation to its acknowledgement by the broker.",
            registry=registry,
            buckets=_LAG_BUCKETS,
        )
        self.outbox_backlog = Gauge(
            "messagebus_outbox_backlog",
            "Published events waiting in the outbox.",
            registry=registry,
        )

    def inc_beginned_transaction_count(self) -> None:
        self.transactions_started_total.inc()
        self.transactions_in_progress.inc()

    def inc_transaction_failed(self) -> None:
        self.transactions_failed_total.inc()

    def _labelled(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, remembered: several per command.

        (A child a caller removes from its metric afterwards would stay here:
        these metrics' series are never removed.)
        """
        key = (metric, values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def inc_transaction_closed_count(self, status: TransactionStatus) -> None:
        self._labelled(self.transactions_closed_total, status.name).inc()
        self.transactions_in_progress.dec()

    def inc_messages_processed_total(self, msg_metadata: Metadata) -> None:
        self._labelled(
            self.messages_processed_total,
            msg_metadata.name,
            str(msg_metadata.schema_version),
        ).inc()

    @contextmanager
    def command_processing_timer(self, command: GenericCommand[Any]) -> Iterator[None]:
        metadata = command.metadata
        with self._labelled(
            self.command_processing_seconds,
            metadata.name,
            str(metadata.schema_version),
        ).time():
            yield

    def observe_dispatch(
        self, command_type: str, outcome: str, seconds: float, handled: Iterable[str]
    ) -> None:
        self._labelled(self.dispatch_seconds, command_type).observe(seconds)
        self._labelled(self.dispatches_total, command_type, outcome).inc()
        if outcome == "committed":
            for type_name in handled:
                self._labelled(self.messages_handled_total, type_name).inc()

    def observe_relay(
        self,
        sent: Iterable[tuple[str, datetime, datetime]],
        failed: Iterable[str],
        dead: Iterable[str],
        backlog: int | None,
    ) -> None:
        for type_name, created_at, published_at in sent:
            self.relay_sent_total.labels(type_name).inc()
            self.relay_lag_seconds.observe(
                max((published_at - created_at).total_seconds(), 0)
            )
        for type_name in failed:
            self.relay_failures_total.labels(type_name).inc()
        for type_name in dead:
            self.relay_dead_total.labels(type_name).inc()
        if backlog is not None:
            self.outbox_backlog.set(backlog)
