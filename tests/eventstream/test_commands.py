"""``messagebus_relay``, ``messagebus_purge`` and ``messagebus_consume`` without a broker."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from messagebus_django import dispatch, uuid7
from messagebus_django.eventstream.broker_consumer import ConsumerStats
from messagebus_django.eventstream.consumer import Consumer, Outcome
from messagebus_django.eventstream.management.commands import messagebus_relay
from messagebus_django.eventstream.models import InboxMessage, OutboxMessage
from messagebus_django.eventstream.transports import InMemoryTransport, reset_transport
from messagebus_django.models import StoredMessage
from messagebus_django.operations.shutdown import stop_on_signals
from tests.testapp.messages import RegisterDocument

pytestmark = pytest.mark.django_db


def command(name: str, *args: str) -> str:
    """Run a management command; return what it printed."""
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def register(code: str = "9780321125217", title: str = "DDD") -> RegisterDocument:
    return RegisterDocument(code=code, title=title, author="Eric Evans")


def queue_two_events() -> None:
    with override_settings(MESSAGEBUS_RELAY_ON_COMMIT=False):
        dispatch(register())
        dispatch(register(code="9781492052203", title="Architecture Patterns"))


@contextmanager
def sigterm_when(condition: Callable[[], bool]) -> Iterator[threading.Event]:
    """``stop_on_signals``, then a SIGTERM to this process once ``condition()`` holds.

    A thread waits for the condition (30 s at most), so the signal comes when
    the command has done what the test waits for, not after a guessed time.
    """
    with stop_on_signals() as stop:
        done = threading.Event()

        def kill_when_done() -> None:
            for _ in range(3000):  # 30 s
                if condition():
                    os.kill(os.getpid(), signal.SIGTERM)
                    return
                if done.wait(0.01):
                    return

        thread = threading.Thread(target=kill_when_done, daemon=True)
        thread.start()
        try:
            yield stop
        finally:
            done.set()
            thread.join(timeout=30)


# messagebus_relay


def test_relay_once_sends_the_pending_events_and_counts(
    memory_transport: InMemoryTransport,
) -> None:
    queue_two_events()
    out = command("messagebus_relay", "--once")
    assert out.splitlines() == [
        "sent 2, failed 0, dead 0",
        "Relay stopped. sent 2, failed 0, dead 0",
    ]
    assert [e.payload["title"] for e in memory_transport.sent] == [
        "DDD",
        "Architecture Patterns",
    ]
    assert command("messagebus_relay", "--once") == (
        "Relay stopped. sent 0, failed 0, dead 0\n"
    )


def test_relay_once_counts_refusals_and_dead_messages(
    memory_transport: InMemoryTransport,
) -> None:
    queue_two_events()
    memory_transport.refuse["document_registered_v1"] = "too large"
    with override_settings(MESSAGEBUS_RELAY_MAX_ATTEMPTS=1):
        out = command("messagebus_relay", "--once", "--batch-size", "1")
    assert out.splitlines()[-1] == "Relay stopped. sent 0, failed 0, dead 2"
    assert set(OutboxMessage.objects.values_list("dead", flat=True)) == {True}


def test_relay_without_a_transport_is_a_command_error() -> None:
    with override_settings(MESSAGEBUS_TRANSPORTS={}):
        reset_transport()
        with pytest.raises(
            CommandError, match="No transport: set MESSAGEBUS_TRANSPORTS"
        ):
            command("messagebus_relay", "--once")
    reset_transport()


def test_relay_once_with_the_broker_down_is_a_command_error(
    memory_transport: InMemoryTransport,
) -> None:
    queue_two_events()
    memory_transport.available = False
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="broker was unavailable"):
        call_command("messagebus_relay", "--once", stdout=out, stderr=err)
    assert "Relay stopped. sent 0, failed 0, dead 0" in out.getvalue()
    assert {m.state for m in OutboxMessage.objects.all()} == {"pending"}


@pytest.mark.parametrize(
    "args", [("--batch-size", "0"), ("--interval=-1",)], ids=["batch", "interval"]
)
def test_relay_rejects_bad_arguments(
    memory_transport: InMemoryTransport, args: tuple[str, ...]
) -> None:
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        command("messagebus_relay", *args)


@pytest.mark.django_db(transaction=True)
def test_the_relay_loop_stops_on_sigterm(
    memory_transport: InMemoryTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_two_events()
    monkeypatch.setattr(
        messagebus_relay,
        "stop_on_signals",
        lambda: sigterm_when(lambda: len(memory_transport.sent) == 2),
    )
    previous = signal.getsignal(signal.SIGTERM)
    out = command("messagebus_relay", "--interval", "0.05")  # loops until SIGTERM
    assert out.splitlines() == [
        "sent 2, failed 0, dead 0",
        "Relay stopped. sent 2, failed 0, dead 0",
    ]
    assert len(memory_transport.sent) == 2
    assert signal.getsignal(signal.SIGTERM) is previous  # the handler is put back


# messagebus_purge

OLD = timezone.now() - timedelta(days=40)
RECENT = timezone.now() - timedelta(days=1)


def stored(created_at: Any, **fields: Any) -> StoredMessage:
    published = fields.pop("published", True)
    return StoredMessage.objects.create(
        id=uuid7(),
        type="document_registered_v1" if published else "register_document_v1",
        name="book_registered" if published else "register_document",
        schema_version=1,
        kind="event" if published else "command",
        payload={},
        created_at=created_at,
        published=published,
        **fields,
    )


def inbox(received_at: Any) -> InboxMessage:
    row = InboxMessage.objects.create(
        consumer="search", message_id=uuid7(), type="document_registered_v1"
    )
    InboxMessage.objects.filter(pk=row.pk).update(received_at=received_at)
    return row


@pytest.fixture
def history() -> dict[str, Any]:
    return {
        "old command": stored(OLD, published=False),
        "old sent": stored(OLD, published_at=OLD),
        "old pending": stored(OLD),
        "old failing": stored(OLD, attempts=2, next_attempt_at=OLD, last_error="x"),
        "old dead": stored(OLD, attempts=10, dead=True),
        "recent command": stored(RECENT, published=False),
        "recent sent": stored(RECENT, published_at=RECENT),
        "old inbox": inbox(OLD),
        "recent inbox": inbox(RECENT),
    }


def left(history: dict[str, Any]) -> set[str]:
    ids: set[object] = {*StoredMessage.objects.values_list("pk", flat=True)}
    ids |= {*InboxMessage.objects.values_list("pk", flat=True)}
    return {name for name, row in history.items() if row.pk in ids}


def test_purge_deletes_old_done_rows_never_pending_ones(
    history: dict[str, Any],
) -> None:
    out = command("messagebus_purge", "--older-than", "30")
    assert out == "Deleted 2 stored messages and 1 inbox records.\n"
    assert left(history) == {
        "old pending",
        "old failing",
        "old dead",
        "recent command",
        "recent sent",
        "recent inbox",
    }


def test_purge_deletes_dead_rows_only_when_asked(history: dict[str, Any]) -> None:
    out = command("messagebus_purge", "--older-than", "30", "--include-dead")
    assert out == "Deleted 3 stored messages and 1 inbox records.\n"
    assert "old dead" not in left(history)
    assert {"old pending", "old failing"} <= left(history)


def test_purge_dry_run_counts_and_deletes_nothing(history: dict[str, Any]) -> None:
    out = command("messagebus_purge", "--older-than", "30", "--dry-run")
    assert out == "Would delete 2 stored messages and 1 inbox records.\n"
    out = command(
        "messagebus_purge", "--older-than", "0", "--include-dead", "--dry-run"
    )
    assert out == "Would delete 5 stored messages and 2 inbox records.\n"
    assert left(history) == set(history)


def test_purge_refuses_a_negative_age() -> None:
    with pytest.raises(CommandError, match="--older-than must not be negative"):
        command("messagebus_purge", "--older-than=-1")
    with pytest.raises(CommandError, match="--older-than"):
        command("messagebus_purge")  # required


# messagebus_consume (what it checks before it connects)


def test_consume_needs_a_queue() -> None:
    with pytest.raises(
        CommandError, match=r"Pass --consumer NAME \(MESSAGEBUS_CONSUMERS\) or --queue"
    ):
        command("messagebus_consume", "--type", "document_registered_v1")


MIRROR = {
    "testapp.mirror": {
        "HANDLERS": ["tests.testapp.consumers"],
        "TYPES": ["document_registered_v1"],
    }
}


@override_settings(MESSAGEBUS_CONSUMERS=MIRROR)
def test_consume_names_an_unknown_consumer_and_the_declared_ones() -> None:
    with pytest.raises(
        CommandError,
        match=r"^--consumer: no consumer 'nope' in MESSAGEBUS_CONSUMERS "
        r"\(declared: testapp.mirror\)\.$",
    ):
        command("messagebus_consume", "--consumer", "nope")


@pytest.mark.parametrize(
    ("extra", "dropped"),
    [
        (["--queue", "q"], "--queue"),
        (["--handlers", "tests.testapp.consumers"], "--handlers"),
        (["--queue", "q", "--type", "document_registered_v1"], "--queue, --type"),
    ],
)
@override_settings(MESSAGEBUS_CONSUMERS=MIRROR)
def test_consume_refuses_a_consumer_with_what_it_declares(
    extra: list[str], dropped: str
) -> None:
    with pytest.raises(
        CommandError,
        match=f"^--consumer takes its queue, handlers and types from "
        f"MESSAGEBUS_CONSUMERS: drop {dropped}\\.$",
    ):
        command("messagebus_consume", "--consumer", "testapp.mirror", *extra)


def test_consume_rejects_unknown_types() -> None:
    with pytest.raises(CommandError, match="Unknown message types: nope_v1, what_v2"):
        command(
            "messagebus_consume",
            "--queue",
            "q",
            "--type",
            "document_registered_v1",
            "--type",
            "nope_v1",
            "--type",
            "what_v2",
        )


@pytest.mark.parametrize(
    ("module", "error"),
    [
        (
            "tests.testapp.no_such_module",
            "--handlers: No module named 'tests.testapp.no_such_module'",
        ),
        (".consumers", "--handlers: scan error: relative package unsupported"),
    ],
)
def test_consume_rejects_handlers_it_cannot_scan(module: str, error: str) -> None:
    with pytest.raises(CommandError, match=error):
        command("messagebus_consume", "--queue", "q", "--handlers", module)


def test_consume_needs_an_event_type() -> None:
    with pytest.raises(CommandError, match="No event type to consume"):
        command(
            "messagebus_consume", "--queue", "q", "--handlers", "tests.testapp.domain"
        )


def test_consume_needs_a_broker_url() -> None:
    with (
        override_settings(MESSAGEBUS_TRANSPORTS={}),
        pytest.raises(CommandError, match="BrokerConsumer needs the broker's URL"),
    ):
        command(
            "messagebus_consume", "--queue", "q", "--type", "document_registered_v1"
        )


class FakeBrokerConsumer:
    """Stands for the broker: hands the command a few outcomes."""

    made: list[FakeBrokerConsumer] = []

    def __init__(self, consumer: Consumer, *, types: list[str]) -> None:
        self.consumer = consumer
        self.types = types
        self.run_with: dict[str, Any] = {}
        FakeBrokerConsumer.made.append(self)

    def run(self, **options: Any) -> ConsumerStats:
        self.run_with = options
        stats = ConsumerStats()
        for outcome in (
            Outcome("applied", type="document_registered_v1"),
            Outcome("duplicate", type="document_registered_v1"),
            Outcome("dead", "malformed JSON: x", ""),
        ):
            stats.count(outcome)
            options["on_outcome"](outcome)
        return stats


@pytest.fixture
def fake_broker(monkeypatch: pytest.MonkeyPatch) -> list[FakeBrokerConsumer]:
    """The command's BrokerConsumer is a :class:`FakeBrokerConsumer`; those made."""
    FakeBrokerConsumer.made.clear()
    monkeypatch.setattr(
        "messagebus_django.eventstream.broker_consumer.BrokerConsumer",
        FakeBrokerConsumer,
    )
    return FakeBrokerConsumer.made


def test_consume_binds_the_types_its_handlers_listen_to_and_reports(
    fake_broker: list[FakeBrokerConsumer],
) -> None:
    out = command(
        "messagebus_consume",
        "--queue",
        "testapp.mirror",
        "--handlers",
        "tests.testapp.consumers",
        "--max-messages",
        "3",
        "--max-attempts",
        "5",
    )
    assert out.splitlines() == [
        "Consuming document_registered_v1 from 'testapp.mirror'.",
        "applied: document_registered_v1",
        "duplicate: document_registered_v1",
        "dead: ? (malformed JSON: x)",
        "Consumer stopped: applied 1, duplicate 1, dead 1, given back 0.",
    ]
    [broker] = fake_broker
    assert broker.types == ["document_registered_v1"]
    assert (broker.consumer.name, broker.consumer.max_attempts) == (
        "testapp.mirror",
        5,
    )
    assert broker.run_with["max_messages"] == 3
    assert broker.run_with["should_stop"]() is False


@pytest.mark.parametrize(
    ("declared", "types"),
    [
        (MIRROR["testapp.mirror"], ["document_registered_v1"]),
        # Without TYPES: those its handlers listen to.
        ({"HANDLERS": ["tests.testapp.consumers"]}, ["document_registered_v1"]),
    ],
)
def test_consume_a_declared_consumer_takes_its_name_handlers_and_types(
    fake_broker: list[FakeBrokerConsumer], declared: dict[str, Any], types: list[str]
) -> None:
    with override_settings(MESSAGEBUS_CONSUMERS={"testapp.mirror": declared}):
        out = command("messagebus_consume", "--consumer", "testapp.mirror")
    assert out.splitlines()[0] == (
        "Consuming document_registered_v1 from 'testapp.mirror'."
    )
    [broker] = fake_broker
    assert broker.types == types
    assert broker.consumer.name == "testapp.mirror"


@override_settings(
    MESSAGEBUS_CONSUMERS={"testapp.mirror": {"HANDLERS": ["tests.testapp.nope"]}}
)
def test_consume_a_declared_consumer_scans_its_handlers() -> None:
    with pytest.raises(
        CommandError,
        match=r"^MESSAGEBUS_CONSUMERS\['testapp.mirror'\]\['HANDLERS'\]: "
        r"No module named 'tests.testapp.nope'$",
    ):
        command("messagebus_consume", "--consumer", "testapp.mirror")


def test_consume_refuses_two_event_classes_with_one_wire_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from messagebus_django.eventstream import consumer as consumer_module
    from messagebus_django.operations.introspection import DuplicateMessageTypeError

    def duplicate(bus: object = None) -> dict[str, object]:
        raise DuplicateMessageTypeError("a.Event and b.Event are both 'x_v1'")

    monkeypatch.setattr(consumer_module, "event_types", duplicate)
    with pytest.raises(CommandError, match="are both 'x_v1'"):
        command("messagebus_consume", "--queue", "q")


def test_the_relay_command_and_the_relay_share_their_default_batch_size() -> None:
    from messagebus_django.eventstream.relay import DEFAULT_BATCH_SIZE, OutboxRelay

    parser = messagebus_relay.Command().create_parser("manage.py", "messagebus_relay")
    assert parser.parse_args([]).batch_size == DEFAULT_BATCH_SIZE == 500
    assert OutboxRelay(InMemoryTransport()).batch_size == DEFAULT_BATCH_SIZE
