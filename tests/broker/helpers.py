"""Helpers of the broker tests: the skip marker, ISBNs, reading queues."""

# kombu is typed only in part.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from kombu.connection import Connection
from kombu.entity import Queue
from kombu.message import Message as KombuMessage
from kombu.messaging import Producer

from books.domain.isbn import complete_isbn13
from messagebus_django.eventstream.transports.kombu import (
    default_broker,
    topic_exchange,
)

BROKER_URL = os.environ.get("BROKER_URL", "")

requires_broker = pytest.mark.skipif(
    not BROKER_URL, reason="BROKER_URL not set: the RabbitMQ tests need a broker"
)

MakeQueue = Callable[..., str]
"""The ``make_queue`` fixture: ``make_queue(*types)`` returns a new queue's name."""


def isbn13(number: int) -> str:
    """A valid ISBN-13, different for each ``number``."""
    return complete_isbn13(f"978{number:09d}")


def drain(broker: Connection, name: str) -> list[KombuMessage]:
    """Every message waiting in the queue ``name``, taken off it (no requeue)."""
    queue = Queue(name).bind(broker.default_channel)
    found: list[KombuMessage] = []
    while (message := queue.get(no_ack=True)) is not None:
        found.append(message)
    return found


def publish_raw(
    broker: Connection, body: bytes, *, routing_key: str, **properties: Any
) -> None:
    """Publish ``body`` as is to the project's exchange (as a foreign producer would)."""
    producer = Producer(
        broker.default_channel, exchange=topic_exchange(default_broker()[1])
    )
    producer.publish(
        body,
        routing_key=routing_key,
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=2,
        **properties,
    )
