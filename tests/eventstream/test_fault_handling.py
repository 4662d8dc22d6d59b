"""How the relay, the consumer and the commands take faults, without a broker.

The same faults against the real RabbitMQ and PostgreSQL are in tests/faults.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, ProgrammingError
from django.test import override_settings
from django.utils import timezone

from messagebus_django import AsyncMessageBus, dispatch, uuid7
from messagebus_django.checks import check_settings
from messagebus_django.eventstream.broker_consumer import BrokerConsumer, delivery_key
from messagebus_django.eventstream.consumer import Consumer
from messagebus_django.eventstream.management import one_line
from messagebus_django.eventstream.management.commands import (
    messagebus_purge,
    messagebus_relay,
)
from messagebus_django.eventstream.models import OutboxMessage, RedeliveredMessage
from messagebus_django.eventstream.relay import OutboxRelay, RelayReport
from messagebus_django.eventstream.transports import (
    Envelope,
    InMemoryTransport,
    Transport,
    TransportUnavailable,
)
from messagebus_django.eventstream.transports.kombu import KombuTransport
from tests.testapp.messages import RegisterDocument

pytestmark = pytest.mark.django_db


def queue_events(count: int) -> None:
    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        for number in range(count):
            dispatch(
                RegisterDocument(
                    code=f"C{number:09d}",
                    title=f"Document {number}",
                    author="Someone",
                )
            )


# -- settings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BROKER_CONNECT_TIMEOUT", 0),
        ("PUBLISH_TIMEOUT", "10"),
        ("RELAY_ON_COMMIT_TIMEOUT", -1),
        ("RELAY_LEASE", None),
        ("BROKER_HEARTBEAT", -5),
        ("BROKER_HEARTBEAT", True),
        ("CONSUMER_MAX_REDELIVERIES", 0),
        ("CONSUMER_MAX_REDELIVERIES", 2.5),
    ],
)
def test_bad_fault_bounds_are_reported(name: str, value: Any) -> None:
    with override_settings(**{f"MESSAGEBUS_{name}": value}):
        errors = check_settings(app_configs=None)
    assert [(e.id, f"MESSAGEBUS_{name}" in e.msg) for e in errors] == [
        ("messagebus_django.E011", True)
    ]


def test_a_lease_shorter_than_a_publish_is_reported() -> None:
    with override_settings(MESSAGEBUS_RELAY_LEASE=5, MESSAGEBUS_PUBLISH_TIMEOUT=10):
        [error] = check_settings(app_configs=None)
    assert error.id == "messagebus_django.E011"
    assert "must be longer than MESSAGEBUS_PUBLISH_TIMEOUT" in error.msg


def test_the_default_bounds_pass() -> None:
    assert check_settings(app_configs=None) == []


# -- the relay ----------------------------------------------------------------


def test_a_transport_without_a_timeout_parameter_still_works() -> None:
    """A transport written before ``send()`` took a timeout."""
    sent: list[Envelope] = []

    class OldTransport(Transport):
        def send(self, envelope: Envelope) -> None:  # type: ignore[override]
            sent.append(envelope)

    queue_events(2)
    assert OutboxRelay(OldTransport()).relay_once(timeout=0.1).sent == 2
    assert len(sent) == 2


def test_send_many_by_default_sends_each_and_stops_once_the_broker_is_unavailable() -> (
    None
):
    """A transport that implements only ``send()`` gets a working ``send_many()``."""
    tried: list[str] = []

    class Flaky(Transport):
        def send(self, envelope: Envelope, *, timeout: float | None = None) -> None:
            tried.append(envelope.type)
            if envelope.type == "refused_v1":
                raise ValueError("no")
            if envelope.type == "down_v1":
                raise TransportUnavailable("down")

    def envelope(type: str) -> Envelope:
        return Envelope(id=uuid7(), type=type, created_at=timezone.now(), payload={})

    outcomes = Flaky().send_many(
        [envelope(t) for t in ("ok_v1", "refused_v1", "ok_v1", "down_v1", "ok_v1")]
    )
    assert [type(outcome).__name__ for outcome in outcomes] == [
        "NoneType",
        "ValueError",
        "NoneType",
        "TransportUnavailable",
        "TransportUnavailable",
    ]
    assert tried == ["ok_v1", "refused_v1", "ok_v1", "down_v1"]  # not the last


def test_an_unavailable_broker_releases_the_claims_at_once() -> None:
    queue_events(2)
    transport = InMemoryTransport()
    transport.available = False
    report = OutboxRelay(transport).relay_once()
    assert (report.fetched, report.sent, report.unavailable) == (2, 0, True)
    assert not OutboxMessage.objects.filter(claim__isnull=False).exists()
    transport.available = True
    assert OutboxRelay(transport).relay_once().sent == 2


def test_a_live_claim_is_skipped_an_expired_one_is_taken() -> None:
    queue_events(1)
    later = timezone.now() + timedelta(minutes=5)
    OutboxMessage.objects.update(claimed_until=later)
    transport = InMemoryTransport()
    assert OutboxRelay(transport).relay_once().fetched == 0
    assert (
        OutboxRelay(transport)
        .relay_once(list(OutboxMessage.objects.values_list("id", flat=True)))
        .fetched
        == 0
    )
    OutboxMessage.objects.update(claimed_until=timezone.now())
    assert OutboxRelay(transport).relay_once().sent == 1
    row = OutboxMessage.objects.get()
    assert (row.state, row.claim, row.claimed_until) == ("sent", None, None)


def test_the_transport_lock_is_waited_on_for_the_timeout_only() -> None:
    transport = KombuTransport("amqp://guest:guest@127.0.0.1:1//")
    envelope = Envelope(
        id=uuid7(),
        type="t_v1",
        created_at=timezone.now(),
        payload={},
    )
    # Another thread holds the connection, waiting on a silent broker.
    with (
        transport._lock,
        pytest.raises(TransportUnavailable, match=r"busy for 0\.01 s"),
    ):
        transport.send(envelope, timeout=0.01)


@contextmanager
def stop_after(calls: list[Any], count: int) -> Iterator[threading.Event]:
    """Stands for a SIGTERM once ``calls`` has ``count`` entries."""

    class Stopping(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            return len(calls) >= count

    yield Stopping()


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messagebus_relay, "BACKOFF", (0.01, 0.02))


def test_the_relay_waits_out_a_database_outage(
    monkeypatch: pytest.MonkeyPatch,
    fast_backoff: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []

    def relay_pending(self: OutboxRelay, should_stop: Any = None) -> RelayReport:
        calls.append("sweep")
        if len(calls) <= 2:
            raise OperationalError("server closed the connection unexpectedly\nmore")
        return RelayReport(sent=1, fetched=1)

    monkeypatch.setattr(OutboxRelay, "relay_pending", relay_pending)
    monkeypatch.setattr(
        messagebus_relay, "stop_on_signals", lambda: stop_after(calls, 3)
    )
    out, err = StringIO(), StringIO()
    call_command("messagebus_relay", stdout=out, stderr=err)
    assert calls == ["sweep"] * 3
    assert err.getvalue().splitlines() == [
        "Database unavailable (Database error (OperationalError): server closed the "
        "connection unexpectedly); retrying in 0.01 s.",
        "Database unavailable (Database error (OperationalError): server closed the "
        "connection unexpectedly); retrying in 0.02 s.",
    ]
    assert "Relay stopped. sent 1, failed 0, dead 0" in out.getvalue()
    assert "Database unavailable" in caplog.text


def test_the_relay_backs_off_while_the_broker_is_away(
    monkeypatch: pytest.MonkeyPatch, fast_backoff: None
) -> None:
    calls: list[str] = []

    def relay_pending(self: OutboxRelay, should_stop: Any = None) -> RelayReport:
        calls.append("sweep")
        return RelayReport(unavailable=len(calls) <= 3)

    monkeypatch.setattr(OutboxRelay, "relay_pending", relay_pending)
    monkeypatch.setattr(
        messagebus_relay, "stop_on_signals", lambda: stop_after(calls, 4)
    )
    err = StringIO()
    call_command("messagebus_relay", stdout=StringIO(), stderr=err)
    assert err.getvalue().splitlines() == [
        "Broker unavailable; retrying in 0.01 s.",
        "Broker unavailable; retrying in 0.02 s.",
        "Broker unavailable; retrying in 0.02 s.",
    ]


def test_the_relay_once_during_a_database_outage_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def relay_pending(self: OutboxRelay, should_stop: Any = None) -> RelayReport:
        raise OperationalError("could not connect to server\nIs the server running?")

    monkeypatch.setattr(OutboxRelay, "relay_pending", relay_pending)
    with pytest.raises(CommandError) as raised:
        call_command("messagebus_relay", "--once", stdout=StringIO(), stderr=StringIO())
    assert str(raised.value) == (
        "Database error (OperationalError): could not connect to server"
    )


def test_a_database_error_that_is_no_outage_stops_the_relay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def relay_pending(self: OutboxRelay, should_stop: Any = None) -> RelayReport:
        raise ProgrammingError(
            'relation "messagebus_django_storedmessage" does not exist'
        )

    monkeypatch.setattr(OutboxRelay, "relay_pending", relay_pending)
    with pytest.raises(CommandError, match=r"ProgrammingError.*does not exist"):
        call_command("messagebus_relay", stdout=StringIO(), stderr=StringIO())


def test_verbosity_zero_is_quiet(memory_transport: InMemoryTransport) -> None:
    queue_events(1)
    out = StringIO()
    call_command("messagebus_relay", "--once", "--verbosity", "0", stdout=out)
    call_command(
        "messagebus_purge", "--older-than", "0", "--verbosity", "0", stdout=out
    )
    call_command(
        "messagebus_purge",
        "--older-than",
        "0",
        "--dry-run",
        "--verbosity",
        "0",
        stdout=out,
    )
    assert out.getvalue() == ""
    assert OutboxMessage.objects.count() == 0  # sent, then purged


def test_database_option(memory_transport: InMemoryTransport) -> None:
    queue_events(1)
    out = StringIO()
    call_command("messagebus_relay", "--once", "--database", "default", stdout=out)
    assert "sent 1" in out.getvalue()
    call_command(
        "messagebus_purge", "--older-than", "0", "--database", "default", stdout=out
    )
    assert "Deleted 2 stored messages" in out.getvalue()


@pytest.mark.parametrize(
    "command",
    [
        ("messagebus_relay", "--once"),
        ("messagebus_purge", "--older-than", "1"),
        ("messagebus_consume", "--queue", "q", "--type", "document_registered_v1"),
    ],
)
def test_an_unknown_database_is_a_command_error(command: tuple[str, ...]) -> None:
    with pytest.raises(CommandError, match="--database: no database 'elsewhere'"):
        call_command(*command, "--database", "elsewhere", stdout=StringIO())


def test_purge_during_a_database_outage_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def purge(*args: Any) -> None:
        raise OperationalError("connection refused\n\tIs the server running?")

    monkeypatch.setattr(messagebus_purge.Command, "_purge", purge)
    with pytest.raises(CommandError) as raised:
        call_command("messagebus_purge", "--older-than", "1")
    assert str(raised.value) == "Database error (OperationalError): connection refused"


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (ValueError("bad\nworse"), "ValueError: bad"),
        (ValueError(), "ValueError"),
        (OperationalError(""), "Database error (OperationalError): "),
    ],
)
def test_one_line(exc: BaseException, line: str) -> None:
    assert one_line(exc) == line


# -- the consumer's redelivery guard ---------------------------------------------


def test_redeliveries_are_counted_then_forgotten() -> None:
    consumer = Consumer("guard", bus=AsyncMessageBus(), types={})
    assert [consumer.count_redelivery("k") for _ in range(3)] == [1, 2, 3]
    assert consumer.count_redelivery("other") == 1
    consumer.forget_redelivery("k")
    assert list(RedeliveredMessage.objects.values_list("key", "count")) == [
        ("other", 1)
    ]
    assert str(RedeliveredMessage.objects.get()) == "guard: other (1)"


class Guarded(Consumer):
    def __init__(self, error: Exception | None = None) -> None:
        super().__init__("guarded", bus=AsyncMessageBus(), types={})
        self.error = error

    def count_redelivery(self, key: str) -> int:
        if self.error is not None:
            raise self.error
        return super().count_redelivery(key)

    def forget_redelivery(self, key: str) -> None:
        if self.error is not None:
            raise self.error
        super().forget_redelivery(key)


def broker_consumer(consumer: Consumer) -> BrokerConsumer:
    return BrokerConsumer(consumer, types=[], url="amqp://guest:guest@127.0.0.1:1//")


def test_a_delivery_back_too_often_is_dead() -> None:
    guard = broker_consumer(Guarded())
    with override_settings(MESSAGEBUS_CONSUMER_MAX_REDELIVERIES=2):
        outcomes = [guard._check_redelivery("k") for _ in range(3)]
    assert outcomes[:2] == [None, None]
    assert outcomes[2] is not None
    assert outcomes[2].status == "dead"
    assert outcomes[2].reason.startswith("redelivered 3 times without being settled")


def test_the_redelivery_guard_during_a_database_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = broker_consumer(Guarded(OperationalError("gone")))
    outcome = guard._check_redelivery("k")
    assert outcome is not None
    assert (outcome.status, outcome.reason) == ("retry", "database unavailable: gone")
    guard._forget_redelivery("k")  # logged, not raised
    assert "could not clear a redelivery count: gone" in caplog.text


@pytest.mark.parametrize(
    ("properties", "body", "key"),
    [
        ({"message_id": "abc"}, b"{}", "abc"),
        (
            {},
            b"{}",
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        ),
        (
            {},
            "{}",
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        ),
    ],
)
def test_delivery_key(properties: dict[str, Any], body: Any, key: str) -> None:
    message = SimpleNamespace(properties=properties, body=body)
    assert delivery_key(message) == key  # type: ignore[arg-type]
