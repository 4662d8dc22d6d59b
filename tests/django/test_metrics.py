"""Prometheus metrics (the ``prometheus`` extra), and their absence."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import RequestFactory, override_settings
from prometheus_client import REGISTRY

from messagebus_django import SinkholeMetricsStore, dispatch
from messagebus_django.eventstream.relay import OutboxRelay
from messagebus_django.eventstream.transports import InMemoryTransport
from messagebus_django.operations import metrics
from messagebus_django.operations.instrumentation import SignallingMetricsStore
from tests.django.commands import Boom, ScratchUnitOfWork, WriteBooks, make_bus
from tests.testapp.messages import RegisterDocument
from tests.testapp.unit_of_work import DocumentsUnitOfWork

pytestmark = pytest.mark.django_db


def sample(metric: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(metric, labels) or 0.0


def register(code: str = "0-321-12521-5") -> RegisterDocument:
    return RegisterDocument(
        code=code, title="Domain Driven Design", author="Eric Evans"
    )


def test_dispatch_outcomes_and_handled_messages_are_counted() -> None:
    committed = sample(
        "messagebus_dispatches_total",
        command="register_document_v1",
        outcome="committed",
    )
    rolled_back = sample(
        "messagebus_dispatches_total",
        command="register_document_v1",
        outcome="rolled_back",
    )
    handled = sample("messagebus_messages_handled_total", type="document_registered_v1")
    timed = sample("messagebus_dispatch_seconds_count", command="register_document_v1")
    dispatch(register())
    dispatch(register())  # a duplicate code: an Err, rolled back
    assert (
        sample(
            "messagebus_dispatches_total",
            command="register_document_v1",
            outcome="committed",
        )
        == committed + 1
    )
    assert (
        sample(
            "messagebus_dispatches_total",
            command="register_document_v1",
            outcome="rolled_back",
        )
        == rolled_back + 1
    )
    assert (
        sample("messagebus_messages_handled_total", type="document_registered_v1")
        == handled + 1
    )
    assert (
        sample("messagebus_dispatch_seconds_count", command="register_document_v1")
        == timed + 2
    )


def test_a_failed_dispatch_is_counted() -> None:
    failed = sample(
        "messagebus_dispatches_total", command="write_books_v1", outcome="failed"
    )
    with pytest.raises(Boom):
        dispatch(
            WriteBooks(titles=["a"], fail="command"),
            bus=make_bus(),
            uow=ScratchUnitOfWork(),
        )
    assert (
        sample(
            "messagebus_dispatches_total", command="write_books_v1", outcome="failed"
        )
        == failed + 1
    )


@override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False)
def test_the_relay_counts_sent_messages_lag_and_backlog() -> None:
    dispatch(register())
    dispatch(register("9781492052203"))
    sent = sample("messagebus_relay_sent_total", type="document_registered_v1")
    lags = sample("messagebus_relay_lag_seconds_count")
    dead = sample("messagebus_relay_dead_total", type="document_registered_v1")
    transport = InMemoryTransport()
    transport.refuse["document_registered_v1"] = "no"
    OutboxRelay(transport, max_attempts=1).relay_once()
    assert (
        sample("messagebus_relay_dead_total", type="document_registered_v1") == dead + 2
    )
    assert sample("messagebus_outbox_backlog") == 0
    dispatch(register("9780134757599"))
    assert sample("messagebus_outbox_backlog") == 0  # only a relay pass updates it
    OutboxRelay(InMemoryTransport(), batch_size=0).relay_once()
    assert sample("messagebus_outbox_backlog") == 1
    OutboxRelay(InMemoryTransport()).relay_once()
    assert (
        sample("messagebus_relay_sent_total", type="document_registered_v1") == sent + 1
    )
    assert sample("messagebus_relay_lag_seconds_count") == lags + 1
    assert sample("messagebus_outbox_backlog") == 0


def test_refusals_are_counted() -> None:
    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        dispatch(register())
    failures = sample("messagebus_relay_failures_total", type="document_registered_v1")
    transport = InMemoryTransport()
    transport.refuse["document_registered_v1"] = "no"
    OutboxRelay(transport, max_attempts=5).relay_once()
    assert (
        sample("messagebus_relay_failures_total", type="document_registered_v1")
        == failures + 1
    )


def test_the_metrics_view() -> None:
    dispatch(register())
    response = metrics.metrics_view(RequestFactory().get("/metrics"))
    assert response.status_code == 200
    assert b"messagebus_dispatches_total" in response.content


@override_settings(MESSAGEBUS_METRICS=False)
def test_metrics_can_be_turned_off() -> None:
    before = sample(
        "messagebus_dispatches_total",
        command="register_document_v1",
        outcome="committed",
    )
    dispatch(register())
    assert not metrics.enabled()
    assert (
        sample(
            "messagebus_dispatches_total",
            command="register_document_v1",
            outcome="committed",
        )
        == before
    )
    assert metrics.metrics_view(RequestFactory().get("/metrics")).status_code == 404


@pytest.fixture
def without_the_extra(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    metrics._metrics.cache_clear()
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    yield
    monkeypatch.undo()
    metrics._metrics.cache_clear()


def test_without_the_extra_everything_works(without_the_extra: Any) -> None:
    assert not metrics.enabled()
    dispatch(register())
    dispatch(register("9781492052203"))
    # Inside the test's transaction nothing commits: both wait for the relay.
    assert OutboxRelay(InMemoryTransport()).relay_pending().sent == 2
    assert metrics.metrics_view(RequestFactory().get("/metrics")).status_code == 404


def test_importing_the_package_does_not_import_prometheus() -> None:
    code = (
        "import sys, messagebus_django.operations.metrics, messagebus_django.dispatching.dispatcher;"
        "print('prometheus_client' in sys.modules)"
    )
    env_code = (
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE']='tests.settings';"
        "django.setup();" + code
    )
    output = subprocess.run(
        [sys.executable, "-c", env_code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "False"


def test_dispatch_reports_messagebus_metrics_to_the_same_registry() -> None:
    started = sample("messagebus_transactions_started_total")
    committed = sample("messagebus_transactions_closed_total", status="committed")
    processed = sample(
        "messagebus_messages_processed_total", name="register_document", version="1"
    )
    timed = sample(
        "messagebus_command_processing_seconds_count",
        name="register_document",
        version="1",
    )
    dispatch(register())
    assert sample("messagebus_transactions_started_total") == started + 1
    assert (
        sample("messagebus_transactions_closed_total", status="committed")
        == committed + 1
    )
    assert (
        sample(
            "messagebus_messages_processed_total", name="register_document", version="1"
        )
        == processed + 1
    )
    assert (
        sample(
            "messagebus_command_processing_seconds_count",
            name="register_document",
            version="1",
        )
        == timed + 1
    )


def test_a_unit_of_work_may_bring_its_own_store() -> None:
    class Own(SinkholeMetricsStore):
        pass

    class OwnStoreUnitOfWork(ScratchUnitOfWork):
        metrics_store = Own()

    assert type(OwnStoreUnitOfWork().metrics_store) is Own
    assert ScratchUnitOfWork().metrics_store is metrics.store()
    with override_settings(MESSAGEBUS_METRICS=False):
        store = ScratchUnitOfWork().metrics_store
        assert isinstance(store, SignallingMetricsStore)
        assert type(store.inner) is SinkholeMetricsStore


def test_a_star_import_does_not_need_the_extra() -> None:
    code = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "from messagebus_django import *\n"
        "try:\n"
        "    from messagebus_django import MetricsStore\n"
        "except ImportError:\n"
        "    print('MetricsStore needs the extra')\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert output.stderr == ""
    assert output.stdout.strip() == "MetricsStore needs the extra"


def test_metrics_store_is_importable_by_name_with_the_extra() -> None:
    from messagebus_django import MetricsStore
    from messagebus_django.operations.prometheus import MetricsStore as adapter

    assert MetricsStore is adapter


def test_dispatch_reports_to_a_measuring_store_and_to_receivers_only() -> None:
    # dispatch() reports to the unit of work's metrics store unless it is idle,
    # and sends dispatch_finished only when something receives it.
    from messagebus_django import signals

    assert signals.dispatch_finished.receivers == []
    heard: list[tuple[str, float]] = []
    reports: list[list[str]] = []

    def listener(sender: object, outcome: str, seconds: float, **kwargs: Any) -> None:
        heard.append((outcome, seconds))

    class Measuring(SinkholeMetricsStore):
        idle = False

        def observe_dispatch(
            self, command_type: str, outcome: str, seconds: float, handled: Any
        ) -> None:
            heard.append((f"store:{outcome}", seconds))
            reports.append([command_type, *handled])

    class MeasuringUnitOfWork(DocumentsUnitOfWork):
        metrics_store = Measuring()

    with override_settings(MESSAGEBUS_METRICS=False):
        dispatch(register("0-321-12521-5"))
        assert heard == []
        dispatch(register("0-321-12521-6"), uow=MeasuringUnitOfWork())
        assert [outcome for outcome, _ in heard] == ["store:committed"]
        signals.dispatch_finished.connect(listener)
        try:
            dispatch(register("0-321-12521-7"))
        finally:
            signals.dispatch_finished.disconnect(listener)
    assert [outcome for outcome, _ in heard] == ["store:committed", "committed"]
    assert all(seconds > 0 for _, seconds in heard)
    # The command and the messages it handled, under their wire names.
    [report] = reports
    assert report[0] == report[1]
    assert report[0].endswith("_v1")
    assert len(report) > 2
