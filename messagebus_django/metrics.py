"""The project's metrics store: Prometheus with the ``prometheus`` extra.

One system: every :class:`~messagebus_django.DjangoUnitOfWork` reports to
:func:`store`, which is :class:`messagebus_django.MetricsStore` on
``prometheus_client``'s default registry when the extra is installed and
``MESSAGEBUS_METRICS`` is on, and a do-nothing store otherwise (nothing is
imported then). Transactions and the bus report ``messagebus``'s metrics;
:func:`~messagebus_django.dispatch` and the relay report theirs to the same
store. The metric names are listed in ``messagebus_django.prometheus``.

Expose them with ``prometheus_client``'s usual means, or route
:func:`metrics_view` (``path("metrics", metrics_view)``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse

from .conf import conf
from .core.observability import AbstractMetricsStore, SinkholeMetricsStore

if TYPE_CHECKING:
    from .prometheus import MetricsStore

__all__ = ["enabled", "metrics_view", "observe_dispatch", "observe_relay", "store"]

_SINKHOLE = SinkholeMetricsStore()


@functools.cache
def _metrics() -> MetricsStore | None:
    """The Prometheus store, made once per process; ``None`` without the extra."""
    try:
        # The client first: the adapter's module may be imported already.
        import prometheus_client  # noqa: F401

        from .prometheus import MetricsStore
    except ImportError:
        return None
    return MetricsStore()


def enabled() -> bool:
    """Whether metrics are collected: the extra is installed and the setting on."""
    return conf.METRICS and _metrics() is not None


def store() -> AbstractMetricsStore:
    """The store units of work report to: Prometheus's, or one that keeps nothing."""
    found = _metrics() if conf.METRICS else None
    return _SINKHOLE if found is None else found


@contextmanager
def observe_dispatch(
    metrics_store: AbstractMetricsStore, command_type: str
) -> Iterator[Callable[[str, Iterable[str]], None]]:
    """Time a dispatch; the caller reports its outcome and the handled types."""
    outcome: tuple[str, Iterable[str]] = ("failed", ())

    def report(result: str, handled: Iterable[str]) -> None:
        nonlocal outcome
        outcome = (result, handled)

    started = time.perf_counter()
    try:
        yield report
    finally:
        metrics_store.observe_dispatch(
            command_type, outcome[0], time.perf_counter() - started, outcome[1]
        )


def observe_relay(
    sent: Iterable[tuple[str, datetime, datetime]],
    failed: Iterable[str],
    dead: Iterable[str],
    backlog: int | None,
) -> None:
    """Count one relay pass: ``sent`` holds (type, created_at, published_at)."""
    store().observe_relay(sent, failed, dead, backlog)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus' text format; 404 when metrics are off."""
    found = _metrics() if conf.METRICS else None
    if found is None:
        return HttpResponse("Metrics are off.", status=404, content_type="text/plain")
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return HttpResponse(
        generate_latest(found.registry), content_type=CONTENT_TYPE_LATEST
    )
