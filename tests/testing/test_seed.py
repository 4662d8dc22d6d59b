"""Setting up a test's state through the bus: the ``messagebus_seed`` fixture."""

from __future__ import annotations

import pytest
from django.db import transaction

from messagebus_django import Err, Ok, dispatch
from messagebus_django.eventstream.models import OutboxMessage
from messagebus_django.testing import (
    EventCapture,
    MessagebusSeed,
    MessageRecorder,
    SeedError,
    seed,
)
from tests.django.commands import Boom, WriteBooks, make_bus
from tests.testapp.messages import (
    DiscontinueDocument,
    DocumentDiscontinued,
    RegisterDocument,
)
from tests.testapp.models import Document
from tests.testapp.repositories import DocumentRepositoryError

pytestmark = pytest.mark.django_db

DDD = {
    "code": "0-321-12521-5",
    "title": "Domain-Driven Design",
    "author": "Eric Evans",
}
EFFECTIVE_JAVA = {
    "code": "978-0134685991",
    "title": "Effective Java",
    "author": "Joshua Bloch",
}


def test_seeding_dispatches_each_command(messagebus_seed: MessagebusSeed) -> None:
    ddd, java = RegisterDocument(**DDD), RegisterDocument(**EFFECTIVE_JAVA)

    results = messagebus_seed(ddd, java, DiscontinueDocument(id=java.id))

    assert results == [Ok(...)] * 3
    assert list(Document.objects.values_list("title", "discontinued")) == [
        ("Domain-Driven Design", False),
        ("Effective Java", True),
    ]


def test_a_duplicate_code_fails_the_test_with_a_clear_message(
    messagebus_seed: MessagebusSeed,
) -> None:
    first = RegisterDocument(**DDD)
    duplicate = RegisterDocument(**{**DDD, "title": "Same code"})

    with pytest.raises(pytest.fail.Exception) as raised:
        messagebus_seed(first, duplicate)

    assert raised.value.msg == (
        f"seeding failed at command 2 of 2, {duplicate!r}: it returned "
        f"{Err(DocumentRepositoryError.integrity_error)!r}"
    )
    assert raised.value.pytrace is False  # the message says it all
    # The commands before it stay: each is its own transaction.
    assert list(Document.objects.values_list("id", flat=True)) == [first.id]


def test_a_raising_handler_fails_the_test_with_its_traceback(
    messagebus_seed: MessagebusSeed,
) -> None:
    command = WriteBooks(titles=["Lost"], fail="command")

    with pytest.raises(pytest.fail.Exception) as raised:
        messagebus_seed(command, bus=make_bus())

    assert raised.value.msg == (
        f"seeding failed at command 1 of 1, {command!r}: it raised Boom: command "
        "handler failed after writing"
    )
    assert raised.value.pytrace is True
    assert isinstance(raised.value.__cause__, Boom)  # its traceback is shown
    assert not Document.objects.exists()


def test_seeding_inside_the_tests_transaction_needs_no_durable_false(
    messagebus_seed: MessagebusSeed,
) -> None:
    # pytest-django's db fixture wraps the test in an atomic block, which
    # dispatch's durable block accepts; a block of the test's own does not.
    with transaction.atomic(), pytest.raises(pytest.fail.Exception) as raised:
        messagebus_seed(RegisterDocument(**DDD))

    assert "durable atomic block cannot be nested" in str(raised.value)
    assert messagebus_seed(RegisterDocument(**DDD)) == [Ok(...)]


def test_what_seeding_produced_is_not_captured(
    messagebus_seed: MessagebusSeed,
    messagebus_events: EventCapture,
    messagebus_recorder: MessageRecorder,
) -> None:
    ddd = RegisterDocument(**DDD)
    messagebus_seed(ddd)
    assert messagebus_recorder.messages == []
    messagebus_events.flush()
    assert messagebus_events.types() == []

    dispatch(DiscontinueDocument(id=ddd.id))

    assert messagebus_recorder.types() == [DiscontinueDocument, DocumentDiscontinued]
    messagebus_events.flush()
    assert messagebus_events.types() == ["document_discontinued_v1"]


def test_seeding_without_captures_leaves_the_outbox_alone(
    messagebus_seed: MessagebusSeed,
) -> None:
    messagebus_seed(RegisterDocument(**DDD))

    assert [m.state for m in OutboxMessage.objects.all()] == ["pending"]


async def test_seed_refuses_to_run_in_an_event_loop() -> None:
    with pytest.raises(RuntimeError, match=r"^seed\(\) calls dispatch\(\)"):
        seed(RegisterDocument(**DDD), bus=None)


def test_seed_raises_seed_error_outside_pytest() -> None:
    # SeedError is an AssertionError: unittest reports it as a failure too.
    with pytest.raises(AssertionError, match="it returned Err"):
        seed(RegisterDocument(**DDD), RegisterDocument(**DDD))
    assert issubclass(SeedError, AssertionError)
