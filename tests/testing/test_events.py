"""Asserting what is published: the ``messagebus_events`` fixture."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

import pytest

from messagebus_django import dispatch
from messagebus_django.eventstream.transports import InMemoryTransport, get_transport
from messagebus_django.models import StoredMessage
from messagebus_django.testing import EventCapture, capture_events
from tests.testapp.messages import (
    DiscontinueDocument,
    DocumentDiscontinued,
    DocumentRegistered,
    RegisterDocument,
)

pytestmark = pytest.mark.django_db

DOCUMENT_ID = UUID("0190b4f2-8d1e-7c3a-9e7d-3f2a1b0c4d5e")
DDD = {"code": "0-321-12521-5", "title": "Domain-Driven Design", "author": "Eric Evans"}
"""Stored (and published) as ``DDD_CODE``."""
DDD_CODE = "0321125215"
CaptureOnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]
PAYLOAD = {
    "id": str(DOCUMENT_ID),
    "code": DDD_CODE,
    "title": DDD["title"],
    "author": DDD["author"],
}


def register() -> RegisterDocument:
    return RegisterDocument(id=DOCUMENT_ID, **DDD)


def test_flush_sends_what_the_outbox_holds(messagebus_events: EventCapture) -> None:
    dispatch(register())
    assert messagebus_events.types() == []  # on_commit never runs in the test

    report = messagebus_events.flush()

    assert report.sent == 1
    assert messagebus_events.types() == ["document_registered_v1"]
    assert messagebus_events.payloads(DocumentRegistered) == [PAYLOAD]
    assert messagebus_events.payloads("document_registered_v1") == [PAYLOAD]
    assert messagebus_events.payloads(DocumentDiscontinued) == []
    [event] = messagebus_events.messages(DocumentRegistered)
    assert event == DocumentRegistered(**PAYLOAD)
    stored = StoredMessage.objects.get(type="document_registered_v1")
    assert messagebus_events.ids() == [stored.id] == [event.message_id]
    assert event.created_at == stored.created_at
    assert messagebus_events.envelopes[0].id == stored.id
    assert stored.state == "sent"


def test_discontinuing_publishes_document_discontinued(
    messagebus_events: EventCapture,
) -> None:
    dispatch(register())
    dispatch(DiscontinueDocument(id=DOCUMENT_ID, reason="out of print"))

    messagebus_events.flush()

    assert messagebus_events.types() == [
        "document_registered_v1",
        "document_discontinued_v1",
    ]
    assert messagebus_events.messages(DocumentDiscontinued) == [
        DocumentDiscontinued(id=DOCUMENT_ID, reason="out of print")
    ]


def test_on_commit_callbacks_send_without_flush(
    messagebus_events: EventCapture,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        dispatch(register())

    assert messagebus_events.types() == ["document_registered_v1"]
    assert messagebus_events.flush().sent == 0  # nothing sent twice


def test_clear_forgets_what_was_sent_and_what_was_pending(
    messagebus_events: EventCapture,
) -> None:
    dispatch(register())

    messagebus_events.clear()

    assert messagebus_events.types() == []
    messagebus_events.flush()
    assert messagebus_events.types() == []


def test_the_capture_is_the_relays_transport(messagebus_events: EventCapture) -> None:
    assert isinstance(messagebus_events.transport, InMemoryTransport)
    assert get_transport() is messagebus_events.transport


def test_a_broker_that_is_down_can_be_played(messagebus_events: EventCapture) -> None:
    dispatch(register())
    messagebus_events.transport.available = False

    assert messagebus_events.flush().unavailable
    assert messagebus_events.types() == []

    messagebus_events.transport.available = True
    messagebus_events.flush()
    assert messagebus_events.types() == ["document_registered_v1"]


def test_the_transport_is_restored_after_the_block(
    settings: Any,
) -> None:
    settings.MESSAGEBUS_TRANSPORTS = {}
    with capture_events() as events:
        assert get_transport() is events.transport
    assert get_transport() is None


@pytest.mark.django_db(transaction=True)
def test_in_a_transactional_test_events_leave_at_commit(
    messagebus_events: EventCapture,
) -> None:
    dispatch(register())

    assert messagebus_events.types() == ["document_registered_v1"]
