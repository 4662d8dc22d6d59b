"""The bookstore's "new arrivals" consumer, end to end on RabbitMQ.

``BookRegistered`` goes web -> outbox -> relay -> RabbitMQ -> consumer ->
``books.consumers`` -> ``NewArrival``. The library's own consumer tests run on
the test app (tests/broker/test_consume.py); this one keeps the example's path.
"""

# kombu is typed only in part.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

from uuid import UUID

import pytest
from django.test import Client
from kombu.connection import Connection

from books.models import Book, NewArrival
from messagebus_django.eventstream.models import InboxMessage, OutboxMessage
from tests.books.conftest import MakeUser
from tests.broker.helpers import MakeQueue, consume, drain, requires_broker

pytestmark = [requires_broker, pytest.mark.django_db(transaction=True)]

TYPE = "book_registered_v1"


def test_a_book_registered_on_the_api_becomes_a_new_arrival(
    client: Client, broker: Connection, make_queue: MakeQueue, make_user: MakeUser
) -> None:
    queue = make_queue(TYPE)  # the consumer's queue exists before the event
    client.force_login(make_user("librarian", "add_book"))
    response = client.post(
        "/api/books",
        {"isbn": "0-321-12521-5", "title": "Domain-Driven Design", "author": "Evans"},
        content_type="application/json",
    )
    assert response.status_code == 201
    book_id = UUID(response.json()["id"])
    assert OutboxMessage.objects.get().state == "sent"  # relayed after the commit

    out = consume(
        queue, "--max-messages", "1", handlers="books.consumers", message_type=TYPE
    )
    assert "Consumer stopped: applied 1, duplicate 0, dead 0, given back 0." in out
    arrival = NewArrival.objects.get()
    assert (arrival.book_id, arrival.title, arrival.author) == (
        book_id,
        "Domain-Driven Design",
        "Evans",
    )
    assert arrival.message_id == OutboxMessage.objects.get().id
    assert InboxMessage.objects.get().consumer == queue
    assert Book.objects.filter(pk=book_id).count() == 1
    assert drain(broker, queue) == []  # acknowledged: nothing is delivered again
