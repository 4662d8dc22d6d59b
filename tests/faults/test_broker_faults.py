"""A silent or cut broker, between the app and the real RabbitMQ.

Before: the after-commit send waited for the publisher confirm without a
bound, so a silent broker hung every request that committed an event; the
relay held its transaction (and, on SQLite, the database's only write lock)
while it waited.
"""

# kombu is typed only in part.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from kombu.connection import Connection

from messagebus_django import Ok, dispatch
from messagebus_django.eventstream.models import OutboxMessage
from messagebus_django.eventstream.relay import OutboxRelay
from messagebus_django.eventstream.transports import reset_transport
from messagebus_django.eventstream.transports.kombu import (
    KombuTransport,
    default_broker,
)
from messagebus_django.testing.faults import TcpProxy
from tests.broker.helpers import (
    BROKER_URL,
    REGISTERED,
    MakeQueue,
    drain,
    envelope,
    publish_raw,
    register,
    requires_broker,
)
from tests.faults.processes import (
    WAIT,
    ManagedProcess,
    database_environment,
    wait_until,
)

pytestmark = [requires_broker, pytest.mark.django_db(transaction=True)]

TYPE = REGISTERED

PATIENT = {"BROKER_CONNECT_TIMEOUT": 60, "PUBLISH_TIMEOUT": 60, "RELAY_LEASE": 120}
"""A relay that waits long on the broker: it is still waiting when the test looks."""


def queue_events(*numbers: int) -> set[str]:
    """Commit ``register(n)`` for each number, nothing relayed; the events' ids."""
    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        for number in numbers:
            assert dispatch(register(number)) == Ok(...)
    return {str(pk) for pk in OutboxMessage.objects.values_list("id", flat=True)}


def wait_for_stall(proxy: TcpProxy, relay: ManagedProcess) -> None:
    """Until the relay waits on the silent broker (or fail if it exited)."""
    wait_until(
        lambda: proxy.stalled.is_set() or not relay.alive(),
        "the relay waits on the broker",
    )
    assert relay.alive(), relay.output


def pending() -> int:
    return OutboxMessage.objects.filter(published_at__isnull=True).count()


def test_dispatch_returns_while_the_broker_is_silent_and_the_event_waits(
    broker: Connection, make_queue: MakeQueue, broker_proxy: TcpProxy, settings: Any
) -> None:
    queue = make_queue(TYPE)
    settings.MESSAGEBUS_TRANSPORTS = {
        "default": {
            "BACKEND": "messagebus_django.eventstream.transports.kombu.KombuTransport",
            "OPTIONS": {
                "url": broker_proxy.url_through(BROKER_URL),
                "exchange": default_broker()[1],
            },
        }
    }
    settings.MESSAGEBUS_RELAY_ON_COMMIT_TIMEOUT = 0.5
    reset_transport()
    try:
        assert dispatch(register(1)) == Ok(...)  # connected, relayed after commit
        assert pending() == 0

        broker_proxy.silence()
        returned = threading.Event()
        results: list[Any] = []

        def request() -> None:
            try:
                results.append(dispatch(register(2)))
            finally:
                connection.close()
                returned.set()

        threading.Thread(target=request, daemon=True).start()
        assert returned.wait(WAIT), "dispatch hung on the silent broker"
        assert results == [Ok(...)]
        assert broker_proxy.stalled.is_set()  # it did wait on the broker, bounded
        event = OutboxMessage.objects.get(published_at__isnull=True)
        assert (event.attempts, event.claim, event.claimed_until) == (0, None, None)
    finally:
        broker_proxy.restore()
        reset_transport()

    relay_transport = KombuTransport(broker_proxy.url_through(BROKER_URL))
    try:
        assert OutboxRelay(relay_transport).relay_pending().sent == 1
    finally:
        relay_transport.close()
    # The unconfirmed publish may reach the broker once the silence ends: at
    # least once, each of the two events.
    ids = {str(pk) for pk in OutboxMessage.objects.values_list("id", flat=True)}
    assert {m.properties["message_id"] for m in drain(broker, queue)} == ids


def _relay_transactions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            # This database's only: other test runs may share the server.
            "SELECT state FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            ["faults-relay"],
        )
        return [state for (state,) in cursor.fetchall()]


def test_the_relay_holds_no_transaction_on_a_silent_broker_and_recovers(
    broker: Connection, make_queue: MakeQueue, broker_proxy: TcpProxy
) -> None:
    queue = make_queue(TYPE)
    ids = queue_events(1, 2, 3)
    broker_proxy.silence()
    relay = ManagedProcess(
        "messagebus_relay",
        "--interval",
        "0.2",
        env={
            **database_environment(),
            "BROKER_URL": broker_proxy.url_through(BROKER_URL),
            "FAULTS_APPLICATION_NAME": "faults-relay",
        },
        messagebus=PATIENT,
    )
    try:
        wait_for_stall(broker_proxy, relay)
        # The relay now waits on the broker, its rows claimed and committed.
        assert OutboxMessage.objects.filter(claim__isnull=False).count() == 3
        if connection.vendor == "postgresql":
            assert _relay_transactions() == ["idle"]
        else:
            # SQLite: the relay does not hold the database's write lock, so a
            # writer gets it without waiting for the broker.
            writer = sqlite3.connect(
                connection.settings_dict["NAME"], timeout=1.0, isolation_level=None
            )
            try:
                writer.execute("BEGIN IMMEDIATE")
                writer.execute("ROLLBACK")
            finally:
                writer.close()
        assert pending() == 3

        broker_proxy.cut()
        relay.wait_for_line("Broker unavailable")
        assert relay.alive()
        broker_proxy.restore()
        wait_until(lambda: pending() == 0, "the relay sent what waited")
    finally:
        code = relay.stop()
    assert code == 0, relay.output
    assert {m.properties["message_id"] for m in drain(broker, queue)} == ids


def test_a_relay_killed_mid_batch_leaves_its_rows_to_another_once_its_claim_expires(
    broker: Connection, make_queue: MakeQueue, broker_proxy: TcpProxy
) -> None:
    queue = make_queue(TYPE)
    ids = queue_events(1, 2)
    broker_proxy.silence()
    relay = ManagedProcess(
        "messagebus_relay",
        env={
            **database_environment(),
            "BROKER_URL": broker_proxy.url_through(BROKER_URL),
        },
        messagebus=PATIENT,
    )
    wait_for_stall(broker_proxy, relay)
    relay.kill()  # kill -9 while it waits on the broker, its rows claimed
    assert pending() == 2

    other = OutboxRelay(KombuTransport())
    try:
        assert other.relay_once().sent == 0  # the claim is alive: not sent twice
        # The lease runs out (as time would make it).
        OutboxMessage.objects.update(claimed_until=timezone.now())
        assert other.relay_once().sent == 2
    finally:
        other.transport.close()
    assert {m.properties["message_id"] for m in drain(broker, queue)} == ids


def test_the_relay_waits_out_a_database_cut_and_sends_once_restored(
    broker: Connection, make_queue: MakeQueue, database_proxy: TcpProxy
) -> None:
    queue = make_queue(TYPE)
    ids = queue_events(1)
    relay = ManagedProcess(
        "messagebus_relay",
        "--interval",
        "0.2",
        env=database_environment(("127.0.0.1", database_proxy.port)),
    )
    try:
        relay.wait_for_line(r"sent 1, failed 0, dead 0")
        database_proxy.cut()
        seen = relay.wait_for_line("Database unavailable")
        ids |= queue_events(2, 3)  # committed meanwhile, not through the proxy
        assert relay.alive()
        database_proxy.restore()
        relay.wait_for_line(r"sent 2, failed 0, dead 0", after=seen)
        assert pending() == 0
    finally:
        code = relay.stop()
    assert code == 0, relay.output
    assert {m.properties["message_id"] for m in drain(broker, queue)} == ids


def test_a_consumer_notices_a_silent_broker_and_resumes(
    broker: Connection,
    make_queue: MakeQueue,
    broker_proxy: TcpProxy,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from messagebus_django import AsyncMessageBus
    from messagebus_django.eventstream.broker_consumer import BrokerConsumer
    from messagebus_django.eventstream.consumer import Consumer, Outcome

    queue = make_queue(TYPE)
    settings.MESSAGEBUS_BROKER_HEARTBEAT = 1
    settings.MESSAGEBUS_BROKER_CONNECT_TIMEOUT = 1
    consumer = BrokerConsumer(
        Consumer(queue, bus=AsyncMessageBus()),  # applying: the inbox record
        types=[TYPE],
        url=broker_proxy.url_through(BROKER_URL),
    )
    outcomes: list[Outcome] = []
    stop = threading.Event()

    def consume() -> None:
        try:
            consumer.run(
                should_stop=stop.is_set,
                idle_timeout=0.2,
                on_outcome=outcomes.append,
                reconnect_delay=(0.1, 0.2),
            )
        finally:
            connection.close()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    try:
        publish_raw(broker, json.dumps(envelope()).encode(), routing_key=TYPE)
        wait_until(lambda: len(outcomes) == 1, "the first delivery is applied")

        broker_proxy.silence()
        wait_until(
            lambda: "broker connection failed" in caplog.text,
            "the consumer gives up on the silent connection",
        )
        publish_raw(broker, json.dumps(envelope()).encode(), routing_key=TYPE)
        broker_proxy.restore()
        wait_until(lambda: len(outcomes) == 2, "the consumer resumes")
    finally:
        stop.set()
        thread.join(WAIT)
    assert [outcome.status for outcome in outcomes] == ["applied", "applied"]
