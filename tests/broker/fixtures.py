"""Fixtures of the RabbitMQ tests: a connection, unique queues deleted afterwards.

A plugin of the whole suite (``pytest_plugins`` in tests/conftest.py): the
library's tests (tests/broker, tests/faults) and the example's (tests/books)
use them.
"""

# kombu is typed only in part.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from kombu.connection import Connection
from kombu.entity import Queue, binding

from messagebus_django.eventstream.transports import reset_transport
from messagebus_django.eventstream.transports.kombu import (
    dead_letter_exchange,
    default_broker,
    topic_exchange,
)
from tests.broker.helpers import BROKER_URL, MakeQueue


@pytest.fixture(scope="session")
def _delete_the_test_exchanges() -> Iterator[None]:
    """The run's exchanges (``messagebus-tests-<pid>`` and its ``.dead``) go at
    the end of a session that used the broker."""
    yield
    reset_transport()
    with Connection(BROKER_URL) as broker:
        channel = broker.default_channel
        for exchange in (
            topic_exchange(default_broker()[1]),
            dead_letter_exchange(default_broker()[1]),
        ):
            exchange.bind(channel).delete()


@pytest.fixture
def broker(_delete_the_test_exchanges: None) -> Iterator[Connection]:
    """A connection to the broker; the project's transport starts and ends afresh."""
    reset_transport()
    with Connection(BROKER_URL) as connection:
        yield connection
    reset_transport()


@pytest.fixture
def make_queue(broker: Connection) -> Iterator[MakeQueue]:
    """``make_queue(*types)``: a new durable queue bound to the message types.

    Declared as ``messagebus_consume`` declares it; it and its ``.dead`` queue
    are deleted after the test.
    """
    names: list[str] = []

    def make(*types: str) -> str:
        name = f"tests.{uuid4()}"
        names.append(name)
        exchange = topic_exchange(default_broker()[1])
        queue = Queue(
            name,
            bindings=[binding(exchange, routing_key=t) for t in types],
            durable=True,
        )
        queue.bind(broker.default_channel).declare()
        return name

    yield make
    channel = broker.default_channel
    for name in names:
        for queue_name in (name, f"{name}.dead"):
            Queue(queue_name).bind(channel).delete()
