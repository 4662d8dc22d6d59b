"""The Prometheus adapter of the metrics port (the ``prometheus`` extra)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from messagebus_django import Command, Metadata, MetricsStore, TransactionStatus
from messagebus_django.operations.prometheus import Singleton


class Timed(Command):
    metadata: Metadata = Metadata(name="timed", schema_version=3)


@pytest.fixture
def registry() -> Iterator[CollectorRegistry]:
    registry = CollectorRegistry()
    yield registry
    Singleton._instances.pop((MetricsStore, id(registry)), None)


def test_one_store_per_registry(registry: CollectorRegistry) -> None:
    store = MetricsStore(registry=registry)
    assert MetricsStore(registry=registry) is store
    other = CollectorRegistry()
    try:
        assert MetricsStore(registry=other) is not store
    finally:
        del Singleton._instances[(MetricsStore, id(other))]


def test_transactions_under_messagebus_names(registry: CollectorRegistry) -> None:
    store = MetricsStore(registry=registry)
    store.inc_beginned_transaction_count()
    store.inc_beginned_transaction_count()
    assert registry.get_sample_value("messagebus_transactions_in_progress") == 2
    store.inc_transaction_failed()
    store.inc_transaction_closed_count(TransactionStatus.rolledback)
    store.inc_transaction_closed_count(TransactionStatus.committed)
    assert registry.get_sample_value("messagebus_transactions_started_total") == 2
    assert registry.get_sample_value("messagebus_transactions_in_progress") == 0
    assert registry.get_sample_value("messagebus_transactions_failed_total") == 1
    for status in ("committed", "rolledback"):
        assert (
            registry.get_sample_value(
                "messagebus_transactions_closed_total", {"status": status}
            )
            == 1
        )


def test_messages_and_command_time(registry: CollectorRegistry) -> None:
    store = MetricsStore(registry=registry)
    store.inc_messages_processed_total(Timed().metadata)
    with store.command_processing_timer(Timed()):
        pass
    labels = {"name": "timed", "version": "3"}
    assert registry.get_sample_value("messagebus_messages_processed_total", labels) == 1
    assert (
        registry.get_sample_value("messagebus_command_processing_seconds_count", labels)
        == 1
    )


def test_the_django_layer_reports_to_the_same_registry(
    registry: CollectorRegistry,
) -> None:
    store = MetricsStore(registry=registry)
    store.observe_dispatch("timed_v3", "committed", 0.5, ["timed_v3", "timed_v3"])
    store.observe_dispatch("timed_v3", "failed", 0.1, ["ignored_v1"])
    now = datetime.now(UTC)
    store.observe_relay(
        [("e_v1", now - timedelta(seconds=2), now)], ["f_v1"], ["d_v1"], 7
    )
    value = registry.get_sample_value
    assert (
        value(
            "messagebus_dispatches_total",
            {"command": "timed_v3", "outcome": "committed"},
        )
        == 1
    )
    assert (
        value(
            "messagebus_dispatches_total", {"command": "timed_v3", "outcome": "failed"}
        )
        == 1
    )
    assert value("messagebus_dispatch_seconds_count", {"command": "timed_v3"}) == 2
    assert value("messagebus_messages_handled_total", {"type": "timed_v3"}) == 2
    assert value("messagebus_messages_handled_total", {"type": "ignored_v1"}) is None
    assert value("messagebus_relay_sent_total", {"type": "e_v1"}) == 1
    assert value("messagebus_relay_lag_seconds_sum") == pytest.approx(2)
    assert value("messagebus_relay_failures_total", {"type": "f_v1"}) == 1
    assert value("messagebus_relay_dead_total", {"type": "d_v1"}) == 1
    assert value("messagebus_outbox_backlog") == 7


def test_threads_making_the_first_store_at_once_share_it() -> None:
    """No DuplicateTimeseries when several threads make a registry's store."""
    threads_per_trial = 8
    interval = sys.getswitchinterval()
    # Switch threads as often as possible: the race needs a switch between
    # the check and the set.
    sys.setswitchinterval(1e-6)
    errors: list[BaseException] = []
    try:
        for _ in range(40):
            registry = CollectorRegistry()
            barrier = threading.Barrier(threads_per_trial)
            made: list[MetricsStore] = []

            def make(
                registry: CollectorRegistry = registry,
                barrier: threading.Barrier = barrier,
                made: list[MetricsStore] = made,
            ) -> None:
                barrier.wait(timeout=30)
                try:
                    made.append(MetricsStore(registry=registry))
                except Exception as exc:  # pragma: no cover - the race lost
                    errors.append(exc)

            threads = [threading.Thread(target=make) for _ in range(threads_per_trial)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            Singleton._instances.pop((MetricsStore, id(registry)), None)
            assert errors == []
            assert len(made) == threads_per_trial
            assert all(store is made[0] for store in made)
    finally:
        sys.setswitchinterval(interval)
