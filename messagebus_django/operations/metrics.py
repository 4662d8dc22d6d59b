"""The project's metrics store: Prometheus with the ``prometheus`` extra.

One system: every :class:`~messagebus_django.DjangoUnitOfWork` reports to
:func:`store`, which is :class:`messagebus_django.MetricsStore` on
``prometheus_client``'s default registry when the extra is installed and
``MESSAGEBUS_METRICS`` is on, and a do-nothing store otherwise (nothing is
imported then). Transactions and the bus report ``messagebus``'s metrics;
:func:`~messagebus_django.dispatch` and the relay report theirs to the same
store. The metric names are listed in ``messagebus_django.operations.prometheus``.

Expose them with ``prometheus_client``'s usual means, or route
:func:`metrics_view` (``path("metrics", metrics_view)``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from messagebus_django import signals
from messagebus_django.conf import conf
from messagebus_django.core.observability import (
    AbstractMetricsStore,
    SinkholeMetricsStore,
)
from messagebus_django.operations.instrumentation import SignallingMetricsStore

if TYPE_CHECKING:
    from messagebus_django.operations.prometheus import MetricsStore

__all__ = ["enabled", "metrics_view", "store"]

_SINKHOLE = SinkholeMetricsStore()


@functools.cache
def _metrics() -> MetricsStore | None:
    """The Prometheus store, made once per process; ``None`` without the extra."""
    try:
        # The client first: the adapter's module may be imported already.
        import prometheus_client  # noqa: F401

        from messagebus_django.operations.prometheus import MetricsStore
    except ImportError:
        return None
    return MetricsStore()


def enabled() -> bool:
    """Whether metrics are collected: the extra is installed and the setting on."""
    return conf.METRICS and _metrics() is not None


def store() -> AbstractMetricsStore:
    """The store units of work report to: Prometheus's, or one that keeps nothing.

    Either way wrapped in a :class:`SignallingMetricsStore`, so that the
    ``message_handled`` signal is told of each handled message.
    """
    found = _metrics() if conf.METRICS else None
    return _signalling(_SINKHOLE if found is None else found)


@functools.cache
def _signalling(inner: AbstractMetricsStore) -> SignallingMetricsStore:
    return SignallingMetricsStore(inner)


@receiver(
    signals.relay_finished, dispatch_uid="messagebus_django.operations.metrics.relay"
)
def _observe_relay(
    sender: object,
    *,
    sent: Iterable[tuple[str, datetime, datetime]],
    failed: Iterable[str],
    dead: Iterable[str],
    backlog: Callable[[], int] | None,
    **kwargs: Any,
) -> None:
    if enabled():
        store().observe_relay(
            sent, failed, dead, None if backlog is None else backlog()
        )


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus' text format; 404 when metrics are off."""
    found = _metrics() if conf.METRICS else None
    if found is None:
        return HttpResponse("Metrics are off.", status=404, content_type="text/plain")
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return HttpResponse(
        generate_latest(found.registry), content_type=CONTENT_TYPE_LATEST
    )
