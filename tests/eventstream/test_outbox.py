"""The message store and outbox, written in the command's transaction."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone

from messagebus_django import Err, Ok, dispatch
from messagebus_django.eventstream.models import InboxMessage, OutboxMessage
from messagebus_django.eventstream.relay import OutboxRelay, relay_after_commit
from messagebus_django.eventstream.transports import (
    Envelope,
    InMemoryTransport,
    Transport,
    reset_transport,
)
from messagebus_django.models import StoredMessage
from tests.django.commands import Boom, ScratchUnitOfWork, WriteBooks, make_bus
from tests.testapp.messages import DocumentRegistered, RegisterDocument
from tests.testapp.repositories import DocumentRepositoryError

pytestmark = pytest.mark.django_db


def register(
    code: str = "978-0-321-12521-7", title: str = "Domain Driven Design"
) -> RegisterDocument:
    return RegisterDocument(code=code, title=title, author="Eric Evans")


def test_every_handled_message_is_stored_in_order(
    memory_transport: InMemoryTransport,
) -> None:
    cmd = register()
    dispatch(cmd)
    rows = list(StoredMessage.objects.order_by("created_at"))
    assert [(r.type, r.kind, r.published) for r in rows] == [
        ("register_document_v1", "command", False),
        ("document_registered_v1", "event", True),
    ]
    assert rows[0].id == cmd.message_id
    assert rows[0].payload == {
        "id": str(cmd.id),
        "code": "9780321125217",
        "title": "Domain Driven Design",
        "author": "Eric Evans",
    }
    assert list(OutboxMessage.objects.values_list("type", flat=True)) == [
        "document_registered_v1"
    ]


def test_a_rolled_back_command_leaves_nothing(
    memory_transport: InMemoryTransport,
) -> None:
    with pytest.raises(Boom):
        dispatch(
            WriteBooks(titles=["a"], fail="event"),
            bus=make_bus(),
            uow=ScratchUnitOfWork(),
        )
    dispatch(register())
    assert dispatch(register(title="Same ISBN")) == Err(
        DocumentRepositoryError.integrity_error
    )
    assert list(
        StoredMessage.objects.values_list("type", flat=True).order_by("created_at")
    ) == [
        "register_document_v1",
        "document_registered_v1",
    ]


@override_settings(MESSAGEBUS_STORE_MESSAGES=False)
def test_the_store_can_be_turned_off(memory_transport: InMemoryTransport) -> None:
    assert dispatch(register()) == Ok(...)
    assert StoredMessage.objects.count() == 0


def test_published_events_are_sent_after_commit_once(
    memory_transport: InMemoryTransport,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        cmd = register()
        dispatch(cmd)
        assert memory_transport.sent == []  # not before the commit
    [envelope] = memory_transport.sent
    event = StoredMessage.objects.get(type="document_registered_v1")
    assert envelope.id == event.id
    assert envelope.type == "document_registered_v1"
    body = json.loads(envelope.body())
    assert body == {
        "id": str(event.id),
        "created_at": event.created_at.isoformat(),
        "type": "document_registered_v1",
        "payload": {
            "id": str(cmd.id),
            "code": "9780321125217",
            "title": "Domain Driven Design",
            "author": "Eric Evans",
        },
    }
    # The wire form round-trips to the event.
    assert DocumentRegistered.model_validate(body["payload"]) == DocumentRegistered(
        id=cmd.id,
        code="9780321125217",
        title="Domain Driven Design",
        author="Eric Evans",
    )
    event.refresh_from_db()
    assert (event.state, event.attempts) == ("sent", 1)
    # A sweep finds nothing left to send.
    assert OutboxRelay().relay_once().sent == 0
    assert len(memory_transport.sent) == 1


@override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False)
def test_relay_on_commit_can_be_turned_off(
    memory_transport: InMemoryTransport,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(register())
    assert memory_transport.sent == []
    assert OutboxRelay().relay_pending().sent == 1
    assert len(memory_transport.sent) == 1


def test_broker_down_at_commit_the_command_succeeds_and_the_relay_delivers_later(
    memory_transport: InMemoryTransport,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    memory_transport.available = False
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch(register()) == Ok(...)
    pending = OutboxMessage.objects.get()
    assert (pending.state, pending.attempts) == (
        "pending",
        0,
    )  # an outage is no attempt
    report = OutboxRelay().relay_pending()
    assert (report.sent, report.unavailable) == (0, True)
    memory_transport.available = True
    assert OutboxRelay().relay_pending().sent == 1
    assert [e.id for e in memory_transport.sent] == [pending.id]


def test_relay_sends_in_creation_order(memory_transport: InMemoryTransport) -> None:
    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        codes = ["9780321125217", "9781492052203", "9780134757599", "9781617294549"]
        for number, code in enumerate(codes):
            dispatch(register(code=code, title=f"Document {number}"))
    report = OutboxRelay(batch_size=3).relay_pending()
    assert report.sent == 4
    titles = [e.payload["title"] for e in memory_transport.sent]
    assert titles == ["Document 0", "Document 1", "Document 2", "Document 3"]


def test_refused_messages_back_off_then_die(
    memory_transport: InMemoryTransport,
) -> None:
    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        dispatch(register())
    memory_transport.refuse["document_registered_v1"] = "too large"
    relay = OutboxRelay(max_attempts=3, backoff=(10, 15))
    assert relay.relay_once().failed == 1
    row = OutboxMessage.objects.get()
    assert (row.attempts, row.last_error, row.dead) == (
        1,
        "ValueError: too large",
        False,
    )
    assert row.next_attempt_at is not None
    assert (
        timedelta(seconds=9)
        < row.next_attempt_at - timezone.now()
        <= timedelta(seconds=10)
    )
    assert relay.relay_once().failed == 0  # not due yet
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert relay.relay_once().failed == 1
    row.refresh_from_db()
    assert (
        timedelta(seconds=14)
        < row.next_attempt_at - timezone.now()
        <= timedelta(seconds=15)
    )
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert relay.relay_once().dead == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("dead", 3)
    assert relay.relay_pending().sent == 0
    assert memory_transport.sent == []


def test_backoff_doubles_up_to_the_longest() -> None:
    relay = OutboxRelay(InMemoryTransport(), backoff=(2, 10))
    assert [relay.delay(n).total_seconds() for n in (1, 2, 3, 4)] == [2, 4, 8, 10]


def test_relay_needs_a_transport() -> None:
    with override_settings(MESSAGEBUS_TRANSPORTS={}):
        reset_transport()
        with pytest.raises(ValueError, match="MESSAGEBUS_TRANSPORTS"):
            OutboxRelay()


def test_relay_after_commit_never_raises(
    memory_transport: InMemoryTransport, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Transport):
        def send(self, envelope: Envelope, *, timeout: float | None = None) -> None:
            raise AssertionError("unexpected")

    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        dispatch(register())
    ids = list(OutboxMessage.objects.values_list("id", flat=True))
    from messagebus_django.eventstream.transports import transports

    transports["default"] = Broken()
    try:
        relay_after_commit(ids, "default")
    finally:
        reset_transport()
    # A refusal is recorded on the row; the caller's request never sees it.
    assert OutboxMessage.objects.get().attempts == 1


class RecordingTransport(Transport):
    def __init__(self) -> None:
        self.sent: list[Envelope] = []
        self.lock = threading.Lock()

    def send(self, envelope: Envelope, *, timeout: float | None = None) -> None:
        with self.lock:
            self.sent.append(envelope)


@pytest.mark.django_db(transaction=True)
def test_two_relays_racing_send_every_message_once() -> None:
    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        for number in range(30):
            dispatch(register(code=_code(number), title=f"Document {number}"))
    transport = RecordingTransport()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run_relay() -> None:
        try:
            barrier.wait()
            OutboxRelay(transport, batch_size=4).relay_pending()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    ids = [e.id for e in transport.sent]
    assert len(ids) == 30
    assert len(set(ids)) == 30
    assert OutboxMessage.objects.filter(published_at__isnull=True).count() == 0


class KilledAfterSending(BaseException):
    """Stands for the process dying between the send and the UPDATE."""


def test_a_relay_killed_after_sending_sends_again_and_the_inbox_applies_once(
    memory_transport: InMemoryTransport,
) -> None:
    from messagebus_django.eventstream.consumer import Consumer

    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        dispatch(register())

    class DiesAfterSend(InMemoryTransport):
        def send(self, envelope: Envelope, *, timeout: float | None = None) -> None:
            super().send(envelope)
            raise KilledAfterSending

    dying = DiesAfterSend()
    with pytest.raises(KilledAfterSending):
        # A BaseException-like death: nothing marks the row sent.
        OutboxRelay(dying).relay_once()
    row = OutboxMessage.objects.get()
    assert row.state == "pending"
    # Its claim holds the row until it expires, then another relay sends it.
    assert row.claimed_until is not None
    assert OutboxRelay(memory_transport).relay_once().sent == 0
    OutboxMessage.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    OutboxRelay(memory_transport).relay_once()
    deliveries = [*dying.sent, *memory_transport.sent]
    assert len(deliveries) == 2
    assert deliveries[0].id == deliveries[1].id

    applied: list[Any] = []
    from messagebus_django import AsyncMessageBus

    async def apply(event: DocumentRegistered, uow: Any) -> None:
        applied.append(event.message_id)

    bus = AsyncMessageBus()
    bus.add_listener(DocumentRegistered, apply)
    consumer = Consumer("search-index", bus=bus)
    outcomes = [consumer.process(envelope.body()).status for envelope in deliveries]
    assert outcomes == ["applied", "duplicate"]
    assert applied == [deliveries[0].id]
    assert InboxMessage.objects.filter(consumer="search-index").count() == 1


def _code(number: int) -> str:
    return f"C{number:09d}"


def test_relay_pending_stops_between_batches_when_asked(
    memory_transport: InMemoryTransport,
) -> None:
    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        for number in range(3):
            dispatch(register(code=_code(number), title=f"Document {number}"))
    report = OutboxRelay(batch_size=1).relay_pending(should_stop=lambda: True)
    assert report.sent == 1
    assert OutboxMessage.objects.filter(published_at__isnull=True).count() == 2


def test_without_the_event_stream_app_commands_run_and_nothing_is_sent(
    memory_transport: InMemoryTransport,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    from messagebus_django import signals
    from messagebus_django.eventstream.relay import relay_committed_events

    uid = "messagebus_django.eventstream.relay"
    # What a project without the app has: nobody connected to the signal.
    assert signals.messages_committed.disconnect(dispatch_uid=uid)
    try:
        assert not signals.messages_committed.has_listeners()
        with django_capture_on_commit_callbacks(execute=True):
            assert isinstance(dispatch(register()), Ok)
    finally:
        signals.messages_committed.connect(relay_committed_events, dispatch_uid=uid)
    assert memory_transport.sent == []
    assert OutboxMessage.objects.get().state == "pending"


def test_the_committed_messages_are_told_to_the_signal(
    memory_transport: InMemoryTransport,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    from messagebus_django import signals

    told: list[dict[str, Any]] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        told.append(kwargs)

    signals.messages_committed.connect(receiver)
    try:
        cmd = register()
        with django_capture_on_commit_callbacks(execute=True):
            dispatch(cmd)
    finally:
        signals.messages_committed.disconnect(receiver)
    (event,) = OutboxMessage.objects.all()
    assert [m.message_id for m in told[0]["messages"]] == [cmd.message_id, event.id]
    assert told[0]["published"] == [event.id]
    assert told[0]["using"] == "default"
    # The event stream's receiver sent it, right after the commit.
    assert [e.id for e in memory_transport.sent] == [event.id]


def test_on_postgresql_only_the_relays_own_transactions_skip_the_commit_wait(
    memory_transport: InMemoryTransport,
) -> None:
    """``synchronous_commit`` off for the claim and the mark, never for the caller's block."""
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        dispatch(register(code=_code(1), title="Document 1"))
    # Inside the test's own atomic block: the relay's blocks are savepoints.
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert OutboxRelay().relay_once().sent == 1
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone() == ("on",)
    assert not [q for q in queries if "synchronous_commit TO OFF" in q["sql"]]


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_claim_and_the_mark_do_not_wait_for_the_disk(
    memory_transport: InMemoryTransport,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    from django.test.utils import CaptureQueriesContext

    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        dispatch(register(code=_code(1), title="Document 1"))
    with CaptureQueriesContext(connection) as queries:
        assert OutboxRelay().relay_once().sent == 1
    off = [q for q in queries if "synchronous_commit TO OFF" in q["sql"]]
    assert len(off) == 2  # the claim's transaction and the mark's
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)  # SET LOCAL: gone with them


def test_a_relayed_envelope_is_the_stored_row_whatever_the_database_gives(
    memory_transport: InMemoryTransport,
) -> None:
    import dataclasses

    from messagebus_django.eventstream.relay import _Claimed, _StoredEnvelope

    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        dispatch(register(title='Dépôt "légal"'))
    OutboxRelay(memory_transport).relay_once()
    [sent] = memory_transport.sent
    row = OutboxMessage.objects.get()
    expected = Envelope(row.id, row.type, row.created_at, row.payload, row.headers)
    assert sent == expected
    assert sent.body() == expected.body()
    # On SQLite the payload stays the stored text until asked for; elsewhere
    # it is parsed by the database driver. The same envelope either way.
    text = json.dumps(row.payload)
    claimed = [
        _Claimed(row.id, row.type, row.created_at, payload, row.headers)
        for payload in (row.payload, text)
    ]
    plain, stored = (each.envelope() for each in claimed)
    assert type(plain) is Envelope
    assert isinstance(stored, _StoredEnvelope)
    assert stored.body() == plain.body() == expected.body()
    assert "payload" not in vars(stored)  # not parsed for the body
    assert stored == plain
    assert plain == stored
    assert sent == expected
    assert stored.payload == row.payload
    again = dataclasses.replace(stored, headers={"x": "y"})
    assert again.body() == plain.body()
    assert again.headers == {"x": "y"}


def test_the_relay_finds_its_claimed_rows_by_an_index() -> None:
    # Marking a batch sent is one UPDATE by the claim id: without an index it
    # would read every stored message, sent ones included, once a batch.
    if connection.vendor == "postgresql":
        # The test table is nearly empty: say which plan it would take on a
        # full one (the test runs inside a transaction: SET LOCAL ends with it).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    plan = StoredMessage.objects.filter(claim=uuid.uuid4()).explain()
    assert "messagebus_store_claim" in plan


def test_the_store_writes_the_rows_bulk_create_would_in_one_insert_per_batch() -> None:
    """The store's own INSERT: every column as the ORM writes it, defaults included."""
    from django.test.utils import CaptureQueriesContext

    from messagebus_django.dispatching.messagestore import (
        _GIVEN,
        _STATEMENTS,
        envelope_fields,
        insert_stored_messages,
    )

    events = [
        DocumentRegistered(
            id=uuid.uuid4(), code=f"C{n}", title='Dépôt "légal"', author="E"
        )
        for n in range(130)
    ]
    events[0] = events[0].model_copy(
        update={
            "metadata": events[0].metadata.model_copy(
                update={"correlation_id": uuid.uuid4(), "causation_id": uuid.uuid4()}
            )
        }
    )
    # A field envelope_fields() gave and the INSERT left out would be lost.
    assert set(envelope_fields(events[0])) == set(_GIVEN)
    mine, theirs = events[:65], events[65:]
    before = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        insert_stored_messages([envelope_fields(e) for e in mine], "default")
    batch = _STATEMENTS[type(connections["default"])].batch
    assert len(queries) == -(-len(mine) // batch)  # one INSERT per batch
    StoredMessage.objects.bulk_create(
        [StoredMessage(**envelope_fields(e)) for e in theirs]
    )
    columns = [
        f.attname for f in StoredMessage._meta.concrete_fields if f.attname != "id"
    ]
    written = {r["id"]: r for r in StoredMessage.objects.values("id", *columns)}
    assert list(written) == sorted(e.message_id for e in events)
    for mine_event, their_event in zip(mine, theirs, strict=True):
        a, b = written[mine_event.message_id], written[their_event.message_id]
        assert a["stored_at"] >= before
        for row in (a, b):
            del row["id"], row["stored_at"], row["created_at"], row["payload"]
        if mine_event is events[0]:
            assert a.pop("headers") == {
                "correlation_id": str(mine_event.metadata.correlation_id),
                "causation_id": str(mine_event.metadata.causation_id),
            }
            del b["headers"]
        assert a == b
    first = StoredMessage.objects.get(id=mine[0].message_id)
    assert first.payload == json.loads(json.dumps(envelope_fields(mine[0])["payload"]))
    assert first.created_at == mine[0].created_at
    assert first.state == "pending"
