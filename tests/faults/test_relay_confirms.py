"""The relay's pipelined confirms when the connection goes between publish and confirm.

The relay publishes a batch, then collects the broker's confirms for it. Here
the broker takes every publish, but its confirms are held back on the way
(the proxy is deaf) until the connection is cut: nothing of the batch may be
marked sent. The next relay sends it all again, and the consumer's inbox
applies each event once.
"""

# kombu is typed only in part.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from kombu.connection import Connection
from kombu.entity import Queue

from messagebus_django import AsyncMessageBus, AsyncUnitOfWorkTransaction, dispatch
from messagebus_django.eventstream.broker_consumer import BrokerConsumer
from messagebus_django.eventstream.consumer import Consumer
from messagebus_django.eventstream.models import InboxMessage, OutboxMessage
from messagebus_django.eventstream.relay import OutboxRelay, RelayReport
from messagebus_django.eventstream.transports import Envelope
from messagebus_django.eventstream.transports.kombu import (
    KombuTransport,
    default_broker,
)
from messagebus_django.testing.faults import TcpProxy
from tests.broker.helpers import BROKER_URL, MakeQueue, requires_broker
from tests.faults.processes import WAIT, wait_until
from tests.testapp.messages import DocumentRegistered, RegisterDocument

pytestmark = [requires_broker, pytest.mark.django_db(transaction=True)]

TYPE = "document_registered_v1"


def queue_events(count: int) -> set[str]:
    """Commit ``count`` documents, nothing relayed; their events' ids."""
    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        for number in range(count):
            dispatch(
                RegisterDocument(
                    code=f"DOC{number:09d}", title=f"Document {number}", author="A"
                )
            )
    return {str(pk) for pk in OutboxMessage.objects.values_list("id", flat=True)}


def waiting_in(broker: Connection, queue: str) -> int:
    declared = Queue(queue).bind(broker.default_channel).queue_declare(passive=True)
    return int(declared.message_count)


def test_a_cut_before_the_confirms_leaves_the_batch_pending_and_it_is_sent_again(
    broker: Connection, make_queue: MakeQueue, broker_proxy: TcpProxy
) -> None:
    queue = make_queue(TYPE)
    ids = queue_events(5)
    transport = KombuTransport(
        broker_proxy.url_through(BROKER_URL),
        exchange=default_broker()[1],
        publish_timeout=WAIT * 2,
    )
    # Connected first (a type no queue is bound to), then deaf.
    transport.send(
        Envelope(
            id=next(iter(OutboxMessage.objects.values_list("id", flat=True))),
            type="warm_up_v1",
            created_at=timezone.now(),
            payload={},
        )
    )
    broker_proxy.deafen()
    reports: list[RelayReport] = []

    def relay() -> None:
        try:
            reports.append(OutboxRelay(transport).relay_once())
        finally:
            connection.close()

    thread = threading.Thread(target=relay, daemon=True)
    thread.start()
    try:
        # The broker has the whole batch; its confirms are held back.
        wait_until(lambda: waiting_in(broker, queue) == 5, "the broker has the batch")
        wait_until(broker_proxy.held.is_set, "the confirms are held back")
        assert OutboxMessage.objects.filter(claim__isnull=False).count() == 5
        broker_proxy.cut()
        thread.join(WAIT)
        assert not thread.is_alive()
    finally:
        broker_proxy.restore()
        transport.close()
    [report] = reports
    assert (report.fetched, report.sent, report.failed, report.unavailable) == (
        5,
        0,
        0,
        True,
    )
    rows = list(OutboxMessage.objects.values_list("published_at", "attempts", "claim"))
    assert rows == [(None, 0, None)] * 5  # not sent, no attempt, released

    again = KombuTransport(broker_proxy.url_through(BROKER_URL))
    try:
        assert OutboxRelay(again).relay_pending().sent == 5
    finally:
        again.close()
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()
    assert waiting_in(broker, queue) == 10  # at least once: each event twice

    seen: list[DocumentRegistered] = []

    async def remember(
        event: DocumentRegistered, uow: AsyncUnitOfWorkTransaction[Any]
    ) -> None:
        seen.append(event)

    bus = AsyncMessageBus()
    bus.add_listener(DocumentRegistered, remember)
    stats = BrokerConsumer(Consumer(queue, bus=bus), types=[TYPE]).run(
        should_stop=lambda: False, idle_timeout=0.2, max_messages=10
    )
    assert (stats.applied, stats.duplicate) == (5, 5)  # the inbox: once each
    assert len(seen) == 5
    assert {
        str(pk) for pk in InboxMessage.objects.values_list("message_id", flat=True)
    } == (ids)
