"""The kombu transport's unavailable path, and choosing a transport, without a broker."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from kombu.connection import Connection

from messagebus_django import Ok, dispatch, uuid7
from messagebus_django.eventstream.broker_consumer import BrokerConsumer
from messagebus_django.eventstream.models import OutboxMessage
from messagebus_django.eventstream.transports import (
    Envelope,
    InMemoryTransport,
    TransportDoesNotExist,
    TransportUnavailable,
    get_transport,
    reset_transport,
    transports,
)
from messagebus_django.eventstream.transports import kombu as kombu_transport
from messagebus_django.eventstream.transports.kombu import KombuTransport
from tests.testapp.messages import RegisterDocument

CLOSED_PORT_URL = "amqp://guest:guest@127.0.0.1:1//"
"""Nothing listens there: the broker is down."""


def envelope() -> Envelope:
    return Envelope(
        id=uuid7(), type="document_registered_v1", created_at=timezone.now(), payload={}
    )


@pytest.fixture
def transport() -> Iterator[KombuTransport]:
    transport = KombuTransport(CLOSED_PORT_URL, exchange="unused", connect_timeout=1)
    yield transport
    transport.close()


def test_an_unreachable_broker_is_unavailable_at_once(
    transport: KombuTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries: list[dict[str, Any]] = []

    class Counted(Connection):
        def ensure_connection(self, *args: Any, **kwargs: Any) -> Any:
            tries.append(kwargs)
            return super().ensure_connection(*args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(kombu_transport, "Connection", Counted)
    with pytest.raises(TransportUnavailable, match="Connection refused"):
        transport.send(envelope())
    # One try, no sleeping between tries.
    assert tries == [{"max_retries": 0, "interval_start": 0}]


def test_within_retry_after_it_does_not_even_try(
    transport: KombuTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]  # the transport's clock, moved by the test
    monkeypatch.setattr(
        kombu_transport, "time", SimpleNamespace(monotonic=lambda: now[0])
    )
    transport.retry_after = 0.3
    with pytest.raises(TransportUnavailable, match="Connection refused"):
        transport.send(envelope())
    connections: list[Any] = []

    def connection(*args: Any, **kwargs: Any) -> Any:
        connections.append(args)
        raise OSError("connection refused again")

    monkeypatch.setattr(kombu_transport, "Connection", connection)
    with pytest.raises(TransportUnavailable, match="unreachable moments ago"):
        transport.send(envelope())
    assert connections == []

    now[0] += 0.31  # retry_after has passed: it tries again
    with pytest.raises(TransportUnavailable, match="connection refused again"):
        transport.send(envelope())
    assert len(connections) == 1


def test_the_kombu_transport_and_consumer_need_a_url() -> None:
    with override_settings(MESSAGEBUS_TRANSPORTS={}):
        with pytest.raises(ValueError, match=r"KombuTransport needs OPTIONS\["):
            KombuTransport()
        with pytest.raises(ValueError, match="BrokerConsumer needs the broker's URL"):
            BrokerConsumer(None, types=[])  # type: ignore[arg-type]


def test_the_transports_are_made_from_their_backend_and_options(
    settings: Any,
) -> None:
    settings.MESSAGEBUS_TRANSPORTS = {
        "default": {
            "BACKEND": "messagebus_django.eventstream.transports.kombu.KombuTransport",
            "OPTIONS": {"url": CLOSED_PORT_URL, "exchange": "bookstore"},
        },
        "memory": {
            "BACKEND": "messagebus_django.eventstream.transports.InMemoryTransport"
        },
    }
    reset_transport()
    try:
        transport = get_transport()
        assert isinstance(transport, KombuTransport)
        assert (transport.url, transport.exchange.name) == (
            CLOSED_PORT_URL,
            "bookstore",
        )
        assert get_transport() is transport  # one per process
        assert isinstance(get_transport("memory"), InMemoryTransport)
        assert get_transport("nowhere") is None
        with pytest.raises(TransportDoesNotExist, match="nowhere"):
            transports["nowhere"]
        assert sorted(transports) == ["default", "memory"]
        assert len(transports.all(initialized_only=True)) == 2
    finally:
        reset_transport()


def test_the_deprecated_broker_url_alone_still_chooses_the_kombu_transport(
    settings: Any, unset_setting: Callable[[str], None]
) -> None:
    unset_setting("MESSAGEBUS_TRANSPORTS")
    settings.MESSAGEBUS_BROKER_URL = CLOSED_PORT_URL
    settings.MESSAGEBUS_EXCHANGE = "bookstore"
    reset_transport()
    try:
        transport = get_transport()
        assert isinstance(transport, KombuTransport)
        assert (transport.url, transport.exchange.name) == (
            CLOSED_PORT_URL,
            "bookstore",
        )
        assert get_transport() is transport  # one per process
    finally:
        reset_transport()


@pytest.mark.django_db
def test_broker_down_at_commit_the_command_succeeds_and_the_event_waits(
    settings: Any,
    django_capture_on_commit_callbacks: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.MESSAGEBUS_TRANSPORTS = {
        "default": {
            "BACKEND": "messagebus_django.eventstream.transports.kombu.KombuTransport",
            "OPTIONS": {"url": CLOSED_PORT_URL},
        }
    }
    reset_transport()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            command = RegisterDocument(
                code="9780321125217", title="DDD", author="Evans"
            )
            assert dispatch(command) == Ok(...)
    finally:
        reset_transport()
    event = OutboxMessage.objects.get()
    assert (event.state, event.attempts) == ("pending", 0)
    assert "Broker unavailable" in caplog.text


def test_the_broker_consumer_keeps_trying_an_unreachable_broker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from messagebus_django import AsyncMessageBus
    from messagebus_django.eventstream.broker_consumer import BrokerConsumer
    from messagebus_django.eventstream.consumer import Consumer

    consumer = Consumer("unreachable", bus=AsyncMessageBus(), types={})
    broker = BrokerConsumer(
        consumer,
        types=["document_registered_v1"],
        url="amqp://guest:guest@127.0.0.1:1//",
    )
    checks: list[int] = []

    def stop_after_three_tries() -> bool:
        checks.append(1)
        return (
            sum(1 for r in caplog.records if "broker connection failed" in r.message)
            >= 3
        )

    stats = broker.run(should_stop=stop_after_three_tries, reconnect_delay=(0.01, 0.02))
    assert stats.applied == 0
    failures = [r for r in caplog.records if "broker connection failed" in r.message]
    assert len(failures) == 3


def test_the_kombu_transport_publishes_the_envelope_and_its_tracing_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import UTC, datetime

    from messagebus_django import uuid7
    from messagebus_django.eventstream.transports import Envelope
    from messagebus_django.eventstream.transports.kombu import KombuTransport

    published: list[dict[str, Any]] = []

    class Producer:
        def publish(self, body: bytes, **properties: Any) -> None:
            published.append({"body": body, **properties})

    transport = KombuTransport("amqp://guest:guest@127.0.0.1:1//")
    monkeypatch.setattr(transport, "_ensure_producer", lambda timeout: Producer())
    envelope = Envelope(
        id=uuid7(),
        type="document_registered_v1",
        created_at=datetime(2026, 11, 26, tzinfo=UTC),
        payload={"title": "DDD"},
        headers={"correlation_id": "c", "causation_id": "d"},
    )
    # This producer has no broker behind it: nothing confirms the publish,
    # so it does not count as sent.
    with pytest.raises(TransportUnavailable, match="did not confirm"):
        transport.send(envelope)
    [sent] = published
    assert sent["body"] == envelope.body()
    assert sent["routing_key"] == "document_registered_v1"
    assert sent["delivery_mode"] == 2
    assert sent["message_id"] == str(envelope.id)
    assert sent["headers"] == {
        "message_type": "document_registered_v1",
        "correlation_id": "c",
        "causation_id": "d",
    }


def test_an_envelope_of_a_message_is_what_its_stored_row_would_give() -> None:
    from uuid import uuid4

    from messagebus_django.dispatching.messagestore import envelope_fields
    from tests.testapp.messages import DocumentRegistered

    correlation = uuid4()
    event = DocumentRegistered(id=uuid4(), code="c-1", title="T", author="A")
    event.metadata = event.metadata.model_copy(update={"correlation_id": correlation})
    envelope = Envelope.of(event)
    fields = envelope_fields(event)
    assert (envelope.id, envelope.type, envelope.created_at) == (
        fields["id"],
        "document_registered_v1",
        fields["created_at"],
    )
    assert envelope.payload == fields["payload"]
    assert envelope.headers == {"correlation_id": str(correlation)}


class Socket:
    """py-amqp's transport as the frames path uses it: what was written."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.timeouts: list[float | None] = []

    def write(self, data: bytes) -> None:
        self.written += data  # a copy: py-amqp hands over a view of its buffer

    @contextlib.contextmanager
    def having_timeout(self, timeout: float | None) -> Iterator[None]:
        self.timeouts.append(timeout)
        yield


def amqp_frames(envelope: Envelope, exchange: str, frame_max: int) -> bytes:
    """The frames py-amqp writes for ``Producer.publish`` with the transport's arguments."""
    import amqp
    from amqp import spec
    from amqp.method_framing import frame_writer
    from amqp.serialization import dumps

    socket = Socket()
    write_frame = frame_writer(
        SimpleNamespace(frame_max=frame_max, bytes_sent=0), socket
    )
    # What kombu's Producer.publish hands py-amqp (kombu.transport.pyamqp).
    message = amqp.Message(
        envelope.body(),
        priority=0,
        content_type="application/json",
        content_encoding="utf-8",
        application_headers={"message_type": envelope.type, **envelope.headers},
        delivery_mode=2,
        message_id=str(envelope.id),
    )
    args = dumps("Bssbb", (0, exchange, envelope.type, False, False))
    write_frame(1, 7, spec.Basic.Publish, args, message)
    return bytes(socket.written)


@pytest.mark.parametrize(
    ("headers", "payload", "frame_max"),
    [
        ({}, {"title": "DDD"}, 131072),
        ({"correlation_id": "c", "causation_id": "ü"}, {"title": "é"}, 131072),
        ({"attempt": 3, "trace": {"a": [1, "b"]}, "ok": True}, {}, 131072),
        ({"correlation_id": "c"}, {"text": "x" * 3000}, 1024),  # several body frames
    ],
)
def test_the_frames_written_over_py_amqp_are_those_of_producer_publish(
    headers: dict[str, Any], payload: dict[str, Any], frame_max: int
) -> None:
    wire = kombu_transport._Wire(
        Socket(), 7, frame_max, kombu_transport._shortstr("messagebus")
    )
    frames = kombu_transport._Frames(wire)
    sent = [
        Envelope(
            id=uuid7(),
            type=f"document_registered_v{number}",
            created_at=timezone.now(),
            payload=payload,
            headers=headers,
        )
        for number in (1, 2, 1)
    ]
    for each in sent:
        frames.add(each)
    assert frames.take() == b"".join(
        amqp_frames(e, "messagebus", frame_max) for e in sent
    )
    assert (frames.take(), frames.size) == (b"", 0)


class Acking:
    """A py-amqp connection whose broker acknowledges all that was published."""

    def __init__(self, transport: KombuTransport) -> None:
        self.transport = transport
        self.drained = 0

    def drain_events(self, timeout: float) -> None:
        self.drained += 1
        self.transport._on_ack(self.transport._published, True)


def test_over_py_amqp_a_batch_is_written_in_a_few_writes_and_an_unencodable_envelope_is_refused_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    transport = KombuTransport("amqp://guest:guest@127.0.0.1:1//", exchange="x")
    socket = Socket()
    connection = Acking(transport)

    def connected(timeout: float) -> object:
        transport._connection = connection  # type: ignore[assignment]
        transport._wire = kombu_transport._Wire(socket, 1, 131072, b"\x01x")
        transport._write_timeout = 5.0
        return object()

    monkeypatch.setattr(transport, "_ensure_producer", connected)
    monkeypatch.setattr(kombu_transport, "_WRITE_SIZE", 2000)
    batch = [envelope() for _ in range(20)]
    batch[5] = Envelope(
        id=uuid7(), type="t" * 256, created_at=timezone.now(), payload={}
    )
    batch.append(
        Envelope(id=uuid7(), type="é" * 200, created_at=timezone.now(), payload={})
    )
    outcomes = transport.send_many(batch)
    assert [type(o).__name__ for o in outcomes] == ["NoneType"] * 5 + ["ValueError"] + [
        "NoneType"
    ] * 14 + ["ValueError"]
    assert "255 bytes" in str(outcomes[5])
    assert connection.drained == 1
    # A write when about 2000 bytes are gathered, and one for the rest.
    assert 2 < len(socket.timeouts) < 20
    assert socket.timeouts == [None] * len(socket.timeouts)  # the connection's bound
    frames = kombu_transport._Frames(kombu_transport._Wire(socket, 1, 131072, b"\x01x"))
    for index, each in enumerate(batch):
        if outcomes[index] is None:
            frames.add(each)
    assert bytes(socket.written) == frames.take()


def test_over_py_amqp_a_batch_past_its_deadline_is_not_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    transport = KombuTransport("amqp://guest:guest@127.0.0.1:1//", exchange="x")
    socket = Socket()

    def connected(timeout: float) -> object:
        transport._connection = Acking(transport)  # type: ignore[assignment]
        transport._wire = kombu_transport._Wire(socket, 1, 131072, b"\x01x")
        return object()

    monkeypatch.setattr(transport, "_ensure_producer", connected)
    clock = iter([0.0, 0.0, 0.0, 100.0])
    monkeypatch.setattr(time, "monotonic", lambda: next(clock, 100.0))
    outcomes = transport.send_many([envelope(), envelope()], timeout=1)
    assert all(isinstance(o, TransportUnavailable) for o in outcomes)
    assert "deadline" in str(outcomes[0])
    assert socket.written == b""


@pytest.mark.parametrize(
    ("type", "payload"),
    [
        ("document_registered_v1", {"title": "DDD", "pages": 560, "price": 9.5}),
        ('odd "type" é\n_v1', {"nested": {"a": [1, None, True]}, "é": "ü"}),
        ("document_registered_v1", {"id": uuid7(), "at": timezone.now()}),  # Python
    ],
)
def test_an_envelope_body_is_the_json_text_of_its_wire_envelope(
    type: str, payload: dict[str, Any]
) -> None:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    from messagebus_django.core.eventstream import wire_envelope

    envelope = Envelope(
        id=uuid7(), type=type, created_at=timezone.now(), payload=payload
    )
    wire = wire_envelope(
        message_id=envelope.id,
        created_at=envelope.created_at,
        type=type,
        payload=payload,
    )
    assert envelope.body() == json.dumps(wire, cls=DjangoJSONEncoder).encode()
