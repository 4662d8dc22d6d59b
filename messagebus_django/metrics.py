"""Prometheus metrics, with the ``prometheus`` extra (``prometheus-client``).

Nothing is imported, and nothing is counted, when the extra is absent or
``MESSAGEBUS_METRICS`` is ``False``. Metrics:

``messagebus_messages_handled_total{type}``
    Messages handled by committed units of work (commands and events).
``messagebus_dispatches_total{command, outcome}``
    Units of work by outcome: ``committed``, ``rolled_back`` (an ``Err``) or
    ``failed`` (a handler raised).
``messagebus_dispatch_seconds{command}``
    Time from the start of ``dispatch()`` to the end of its transaction.
``messagebus_relay_sent_total{type}``, ``messagebus_relay_failures_total{type}``,
``messagebus_relay_dead_total{type}``
    What the relay did with outbox messages.
``messagebus_relay_lag_seconds``
    From a message's creation to its acknowledgement by the broker.
``messagebus_outbox_backlog``
    Published events waiting in the outbox (counted at the end of each relay sweep).

Expose them with ``prometheus_client``'s usual means, or route
:func:`metrics_view` (``path("metrics", metrics_view)``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse

from .conf import conf

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["enabled", "metrics_view", "observe_dispatch"]


_collectors: dict[str, Any] | None = None


@functools.cache
def _metrics() -> dict[str, Any] | None:
    """The collectors, made once per process; ``None`` without the extra."""
    global _collectors
    try:
        import prometheus_client as prometheus
    except ImportError:
        return None
    if _collectors is None:
        _collectors = _create(prometheus)
    return _collectors


def _create(prometheus: Any) -> dict[str, Any]:
    return {
        "prometheus": prometheus,
        "handled": prometheus.Counter(
            "messagebus_messages_handled_total",
            "Messages handled by committed units of work.",
            ["type"],
        ),
        "dispatches": prometheus.Counter(
            "messagebus_dispatches_total",
            "Units of work by outcome.",
            ["command", "outcome"],
        ),
        "dispatch_seconds": prometheus.Histogram(
            "messagebus_dispatch_seconds",
            "Duration of dispatch(), transaction included.",
            ["command"],
        ),
        "relay_sent": prometheus.Counter(
            "messagebus_relay_sent_total", "Outbox messages sent.", ["type"]
        ),
        "relay_failures": prometheus.Counter(
            "messagebus_relay_failures_total",
            "Outbox messages the broker refused (retried later).",
            ["type"],
        ),
        "relay_dead": prometheus.Counter(
            "messagebus_relay_dead_total",
            "Outbox messages given up after too many refusals.",
            ["type"],
        ),
        "relay_lag": prometheus.Histogram(
            "messagebus_relay_lag_seconds",
            "From a message's creation to its acknowledgement by the broker.",
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, float("inf")),
        ),
        "backlog": prometheus.Gauge(
            "messagebus_outbox_backlog", "Published events waiting in the outbox."
        ),
    }


def enabled() -> bool:
    """Whether metrics are collected: the extra is installed and the setting on."""
    return conf.METRICS and _metrics() is not None


@contextmanager
def observe_dispatch(
    command_type: str,
) -> Iterator[Callable[[str, Iterable[str]], None]]:
    """Time a dispatch; the caller reports its outcome and the handled types."""
    metrics = _metrics() if conf.METRICS else None
    outcome: list[Any] = ["failed", ()]

    def report(result: str, handled: Iterable[str]) -> None:
        outcome[:] = [result, handled]

    started = time.perf_counter()
    try:
        yield report
    finally:
        if metrics is not None:
            metrics["dispatch_seconds"].labels(command_type).observe(
                time.perf_counter() - started
            )
            metrics["dispatches"].labels(command_type, outcome[0]).inc()
            if outcome[0] == "committed":
                for type_name in outcome[1]:
                    metrics["handled"].labels(type_name).inc()


def observe_relay(
    sent: Iterable[tuple[str, datetime, datetime]],
    failed: Iterable[str],
    dead: Iterable[str],
    backlog: int | None,
) -> None:
    """Count one relay pass: ``sent`` holds (type, created_at, published_at)."""
    metrics = _metrics() if conf.METRICS else None
    if metrics is None:
        return
    for type_name, created_at, published_at in sent:
        metrics["relay_sent"].labels(type_name).inc()
        metrics["relay_lag"].observe(
            max((published_at - created_at).total_seconds(), 0)
        )
    for type_name in failed:
        metrics["relay_failures"].labels(type_name).inc()
    for type_name in dead:
        metrics["relay_dead"].labels(type_name).inc()
    if backlog is not None:
        metrics["backlog"].set(backlog)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus' text format; 404 when metrics are off."""
    metrics = _metrics() if conf.METRICS else None
    if metrics is None:
        return HttpResponse("Metrics are off.", status=404, content_type="text/plain")
    prometheus = metrics["prometheus"]
    registry: CollectorRegistry = prometheus.REGISTRY
    return HttpResponse(
        prometheus.generate_latest(registry),
        content_type=prometheus.CONTENT_TYPE_LATEST,
    )
